"""notify delivery benchmark (issue 14): events -> delivered notices per second over the in-app inbox and the
generic webhook channel, through one notify worker, beside the raw consume rate of the same broker in the same
run, with the CPU each process spent (from /proc).

Raw consume: ``--events`` messages of the same size published to a plain queue, then drained by one kombu
consumer acking each (the broker's ceiling for one consumer). Notify: ``--events`` OpportunityRegistered events
for ``--recipients`` owners published as a backlog to ``opportunities.events``; every owner's preferences send
that notice to a local webhook (signed; the server checks the HMAC). The clock runs from the first publish to
the last in-app notice stored, and to the last webhook delivery the server took.

    python -m bench.notify_delivery [--events 2000] [--recipients 50]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa

from bench.__main__ import ROOT, prepare_env

SECRET = "bench-webhook-secret"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def pids_named(word: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if word in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class CpuMeter:
    """CPU spent by groups of processes between start() and stop(). A group is fixed pids, a word in the command
    line, or a function listing pids, rescanned at stop() so that processes started meanwhile (PostgreSQL backends
    of new connections) count in full; a process that ended in between is lost, so the figure is a lower bound."""

    def __init__(self, groups: dict[str, list[int] | str | Callable[[], list[int]]]) -> None:
        self.groups = groups

    def _pids(self, group) -> list[int]:
        if isinstance(group, list):
            return group
        return group() if callable(group) else pids_named(group)

    def start(self) -> None:
        self._before = {name: {p: cpu_seconds(p) for p in self._pids(g)} for name, g in self.groups.items()}

    def stop(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) - self._before[name].get(p, 0.0) for p in self._pids(g))
                for name, g in self.groups.items()}


class Webhook:
    """A local receiver that checks each delivery's signature and counts the good ones."""

    def __init__(self) -> None:
        self.received = 0
        self.bad = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                good = self.headers.get("X-Shangji-Signature") == "sha256=" + hmac.new(
                    SECRET.encode(), body, hashlib.sha256).hexdigest()
                with outer.lock:
                    outer.received += good
                    outer.bad += not good
                self.send_response(200 if good else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/bench"


def registered(owner: str) -> dict:
    from google.protobuf import json_format

    from shangji.opportunities.v1 import events_pb2, opportunities_pb2
    from shangji_kit import envelope

    deal_id = str(uuid.uuid4())
    deal = opportunities_pb2.Opportunity(
        name=f"opportunities/{deal_id}", id=deal_id, title="压测商机", customer_company="压测客户",
        owner=f"users/{owner}", registrant=f"users/{owner}", stage="discover", stage_display_name="发现机会")
    deal.create_time.FromDatetime(datetime.now(UTC))
    return envelope.build(service="opportunities", id=str(uuid.uuid4()),
                          type="shangji.opportunities.v1.OpportunityRegistered", subject=deal.name,
                          time=datetime.now(UTC), dataschema="proto:shangji.opportunities.v1.OpportunityRegistered",
                          data=json_format.MessageToDict(events_pb2.OpportunityRegistered(opportunity=deal)),
                          correlation_id=None)


def raw_consume(amqp_uri: str, bodies: list[dict]) -> float:
    """Seconds one kombu consumer takes to drain ``bodies`` (published first) from a plain queue, acking each."""
    import kombu

    queue_name = f"bench-raw-{uuid.uuid4()}"
    with kombu.Connection(amqp_uri) as conn:
        queue = kombu.Queue(queue_name, exchange=kombu.Exchange(""), routing_key=queue_name, durable=True,
                            auto_delete=True)
        producer = conn.Producer()
        queue(conn.channel()).declare()
        for body in bodies:
            producer.publish(body, routing_key=queue_name, serializer="json", delivery_mode=2)
        got = 0
        done = threading.Event()

        def on_message(body, message) -> None:
            nonlocal got
            message.ack()
            got += 1
            if got == len(bodies):
                done.set()

        started = time.perf_counter()
        with conn.Consumer(queue, callbacks=[on_message], prefetch_count=10):
            while not done.is_set():
                conn.drain_events(timeout=10)
        return time.perf_counter() - started


def set_preferences(owners: list[str], url: str) -> None:
    from notify import bootstrap
    from notify.domain import channels
    from notify.domain.preferences import Preferences, Robot, Rule
    from notify.service_layer import preferences

    rules = bootstrap.rules()
    uow = bootstrap.uow_factory()
    for owner in owners:
        p = Preferences(owner, robots=(Robot(channels.WEBHOOK, url, SECRET),),
                        rules=(Rule("opportunity_registered", (channels.IN_APP, channels.WEBHOOK)),))
        preferences.update_preferences(owner, owner, p, {"robots", "rules"}, "", {}, uow(), rules,
                                       datetime.now(UTC))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--recipients", type=int, default=50)
    args = parser.parse_args()

    prepare_env()
    from shangji_kit import settings
    from shangji_kit.publisher import EventPublisher
    from shangji_kit.testing.processes import ServiceProcess

    amqp = os.environ["SHANGJI_AMQP_URI"]
    log_dir = ROOT / ".run" / "bench-logs" / "notify_delivery"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"bench notify_delivery: {os.cpu_count()} cores; broker, database, the notify worker, the webhook "
          "receiver and the publisher share this machine")
    hook = Webhook()
    owners = [str(uuid.uuid4()) for _ in range(args.recipients)]
    set_preferences(owners, hook.url)
    bodies = [registered(owners[i % len(owners)]) for i in range(args.events)]

    def backends() -> list[int]:
        """PostgreSQL's backends serving this run's notify database (not other databases on the same server)."""
        with admin.connect() as conn:
            return list(conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                     {"d": settings.database_name("notify")}).scalars())

    admin = sa.create_engine(settings.database_url("notify"), poolclass=sa.pool.NullPool)
    shared = {"postgres (notify's backends)": backends, "rabbitmq": "beam.smp"}
    meter = CpuMeter({**shared, "bench (client + webhook)": [os.getpid()]})
    meter.start()
    raw_s = raw_consume(amqp, bodies)
    raw_cpu = meter.stop()

    env = dict(os.environ, SHANGJI_ENV="development",
               SHANGJI_CONSUMER_PREFETCH=os.environ.get("SHANGJI_CONSUMER_PREFETCH", "10"))
    worker = ServiceProcess("notify", "worker", env, log_dir).start()
    engine = sa.create_engine(settings.database_url("notify"), poolclass=sa.pool.NullPool)
    try:
        worker.wait_started(60)
        meter = CpuMeter({"notify worker": [worker.proc.pid], **shared, "bench (client + webhook)": [os.getpid()]})
        publisher = EventPublisher(amqp, "opportunities")
        meter.start()
        started = time.perf_counter()
        for body in bodies:
            publisher.publish(body)
        publisher.close()
        published_s = time.perf_counter() - started
        in_app_s = webhook_s = None
        deadline = time.monotonic() + 60 + args.events * 0.1
        with engine.connect() as conn:
            while time.monotonic() < deadline and webhook_s is None:
                if in_app_s is None:
                    stored = conn.execute(sa.text("SELECT count(*) FROM notifications")).scalar_one()
                    conn.rollback()
                    if stored >= args.events:
                        in_app_s = time.perf_counter() - started
                if hook.received >= args.events:
                    webhook_s = time.perf_counter() - started
                time.sleep(0.02)
        cpu = meter.stop()
        with engine.connect() as conn:
            states = dict(conn.execute(sa.text("SELECT state, count(*) FROM deliveries GROUP BY state")).all())
    finally:
        worker.terminate(30)
        engine.dispose()
        admin.dispose()

    def rate(seconds: float | None) -> str:
        return f"{args.events / seconds:>9.0f}" if seconds else f"{'n/a':>9}"

    print(f"\n{args.events} events, {args.recipients} recipients; publishing the backlog took {published_s:.1f} s")
    print(f"{'what':<52}{'seconds':>9}{'per s':>9}")
    print(f"{'raw consume, one kombu consumer (ceiling)':<52}{raw_s:>9.1f}{rate(raw_s)}")
    print(f"{'events -> in-app notices (notify worker)':<52}{(in_app_s or 0):>9.1f}{rate(in_app_s)}")
    print(f"{'events -> webhook deliveries taken (same run)':<52}{(webhook_s or 0):>9.1f}{rate(webhook_s)}")
    print(f"webhook: {hook.received} good, {hook.bad} bad signatures; deliveries by state: {states}")
    print("\nCPU seconds per process (rabbitmq also serves whatever else runs on this machine)")
    for name, seconds in cpu.items():
        raw = raw_cpu.get(name)
        per_event = seconds / args.events * 1000
        print(f"  {name:<30}{seconds:>8.2f} s  {per_event:>6.2f} ms/event"
              + (f"   (raw consume phase: {raw:.2f} s)" if raw is not None else ""))
    from shangji_kit import db, migrate

    db.dispose_all()
    for service in settings.SERVICES:
        migrate.drop_database(settings.database_name(service))


if __name__ == "__main__":
    main()
