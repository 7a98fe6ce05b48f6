"""The consumer's floor (issue 12): CPU per event of an event handler that does nothing.

Every event a worker consumes pays for the delivery before any work: the framework's dispatch, the
envelope's parsing, the ack, the broker's side of both. This measures that floor alone, for the kit's
``@event_handler`` in a nameko worker (what every service runs) and for a plain kombu consumer in the
same broker (parse and ack, no framework: the ceiling of a Python consumer here), each fed the same events
at ``--rate``/s one at a time (the trickle of a front under load) and then as a backlog.

    python -m bench.consumer [--events 3000] [--rate 300]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import kombu

from bench import cpu
from bench.consumer_worker import EVENT_TYPE, QUEUE, SOURCE

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ["worker", "rabbitmq"]


def declare(amqp_uri: str) -> None:
    from shangji_kit import envelope

    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        exchange = kombu.Exchange(envelope.exchange_of(SOURCE), type="topic", durable=True)
        queue = kombu.Queue(QUEUE, exchange=exchange, routing_key=EVENT_TYPE, durable=True, auto_delete=False)
        queue(channel).declare()
        channel.queue_purge(QUEUE)
        channel.close()


def waiting(amqp_uri: str) -> int:
    """Messages in the queue not yet delivered (the caller waits a little longer for the last acks)."""
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        _, ready, _ = channel.queue_declare(QUEUE, passive=True)
        channel.close()
    return ready


def events(n: int) -> list[dict]:
    from shangji_kit import envelope

    now = datetime.now(UTC)
    return [envelope.build(service=SOURCE, id=str(uuid.uuid4()), type=EVENT_TYPE, subject=f"bench/{i}", time=now,
                           dataschema="", data={"n": i, "note": "压测"}, correlation_id=str(uuid.uuid4()))
            for i in range(n)]


def measure(kind: str, amqp_uri: str, n: int, rate: float | None) -> dict:
    from shangji_kit.publisher import EventPublisher

    declare(amqp_uri)
    publisher = EventPublisher(amqp_uri, SOURCE)
    batch = events(n)
    if rate is None:  # backlog: every event waits before the consumer starts
        publisher.publish_batch(batch)
    proc = subprocess.Popen([sys.executable, "-m", "bench.consumer_worker", kind, amqp_uri], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        meter = cpu.CpuMeter({"worker": lambda: {proc.pid}, "rabbitmq": lambda: cpu.named("beam.smp")})
        meter.start()
        started = time.perf_counter()
        if rate is not None:
            for i, event in enumerate(batch):
                publisher.publish_batch([event])
                delay = started + (i + 1) / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
        deadline = time.monotonic() + 60
        while waiting(amqp_uri) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the last acks
        elapsed = time.perf_counter() - started
        usage = meter.stop()
    finally:
        proc.terminate()
        proc.wait(15)
        publisher.close()
    return {"usage": usage, "rate": n / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=300)
    args = parser.parse_args()

    from shangji_kit.testing import servers

    amqp_uri = os.environ.get("SHANGJI_BENCH_AMQP_URI") or servers.find_rabbitmq(
        os.environ.get("SHANGJI_BENCH_PREFIX", "bench") + "cons")
    print(f"bench consumer: {os.cpu_count()} cores; {args.events} events each run; CPU ms per event")
    print(f"{'consumer':<40}{'ev/s':>8}" + cpu.cpu_header(GROUPS))
    for rate in (args.rate, None):
        for kind, label in (("nameko", "kit @event_handler (nameko)"), ("kombu", "plain kombu: parse + ack")):
            r = measure(kind, amqp_uri, args.events, rate)
            regime = f"{rate:.0f}/s trickle" if rate else "backlog"
            print(f"{f'{label}, {regime}':<40}{r['rate']:>8.0f}" + cpu.cpu_cells(r["usage"], args.events, GROUPS))
    print(cpu.explain(GROUPS) + "; worker: the consuming process alone")


if __name__ == "__main__":
    main()
