"""Relay benchmark (issue 12): CPU per event of the outbox relay, alone, in two regimes.

- backlog: ``--events`` outbox rows written first, then one relay drains them (rounds of ``--batch``);
- trickle: rows committed one per transaction at ``--rate``/s while the relay runs (NOTIFY wakes it per
  commit, so rounds are small: the regime of a front under load).
The relay runs in this process (a thread), so "client" is the relay plus the writer; PostgreSQL is the
backends of the bench database; RabbitMQ is shared. Events go to the teams exchange with no queue bound
(the common case today: nobody subscribes to most event types), so each one is returned unroutable.

    python -m bench.relay [--events 5000] [--rate 300] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import sqlalchemy as sa

from bench import cpu


def write(uow_factory, n: int) -> None:
    from shangji.teams.v1 import events_pb2, teams_pb2

    with uow_factory() as uow:
        for i in range(n):
            uow.outbox.add(events_pb2.UserCreated(user=teams_pb2.User(display_name=f"r{i}")), subject=f"users/r{i}")
        uow.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--linger-ms", type=float, default=None,
                        help="the relay's linger after a wake-up (default: SHANGJI_RELAY_LINGER_MS's default)")
    args = parser.parse_args()

    from bench.__main__ import prepare_env

    prepare_env()
    from shangji_kit import db, migrate, settings
    from shangji_kit.relay import OutboxRelay
    from shangji_kit.uow import UnitOfWork
    from teams.adapters.orm import metadata

    url = settings.database_url("teams")
    engine = sa.create_engine(url)
    uow_factory = lambda: UnitOfWork("teams", engine.connect, metadata)  # noqa: E731
    meter = cpu.CpuMeter({"client": cpu.this_process,
                          "postgres": cpu.postgres_backends(db.libpq_dsn(url), [settings.database_name("teams")]),
                          "rabbitmq": lambda: cpu.named("beam.smp")})
    groups = ["client", "postgres", "rabbitmq"]
    try:
        for _ in range(args.events // 500):
            write(uow_factory, 500)
        linger = (settings.Settings.for_service("teams").relay_linger_seconds if args.linger_ms is None
                  else args.linger_ms / 1000)
        relay = OutboxRelay("teams", url, settings.amqp_uri(), batch=args.batch, linger_seconds=linger)
        relay.publish_pending()  # connect and warm up
        meter.start()
        started = time.perf_counter()
        while relay.publish_pending():
            pass
        backlog_s = time.perf_counter() - started
        backlog = meter.stop()
        drained = relay.published

        stop = threading.Event()
        runner = threading.Thread(target=relay.run, args=(stop.is_set,), daemon=True)
        runner.start()
        before, rounds_before = relay.published, relay.rounds
        meter.start()
        started = time.perf_counter()
        n = 0
        while time.perf_counter() - started < args.seconds:
            write(uow_factory, 1)
            n += 1
            delay = started + n / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        deadline = time.monotonic() + 30
        while relay.published - before < n and time.monotonic() < deadline:
            time.sleep(0.01)
        trickle = meter.stop()
        per_round = (relay.published - before) / max(relay.rounds - rounds_before, 1)
        stop.set()
        write(uow_factory, 1)
        runner.join(10)
        print(f"bench relay: {os.cpu_count()} cores")
        print(f"{'regime':<40}{'events':>8}{'ev/s':>8}" + cpu.cpu_header(groups))
        print(f"{f'backlog, batch {args.batch}':<40}{drained:>8}{drained / backlog_s:>8.0f}"
              + cpu.cpu_cells(backlog, drained, groups))
        print(f"{f'trickle, {args.rate:.0f} commits/s (incl. the writer)':<40}{n:>8}{n / args.seconds:>8.0f}"
              + cpu.cpu_cells(trickle, n, groups)
              + f"   {per_round:.1f} events per round, linger {linger * 1000:g} ms")
        print(cpu.explain(groups) + " (ms per event)")
    finally:
        engine.dispose()
        db.dispose_all()
        for service in settings.SERVICES:
            migrate.drop_database(settings.database_name(service))


if __name__ == "__main__":
    main()
