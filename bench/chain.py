"""The conversion chain's CPU, hop by hop (`python -m bench.chain`).

A conversion is ConvertLead in leads' front (lead, customer, contact, outbox), leads' relay, opportunities'
worker registering the deal (and its relay), notify's worker writing the notification. This runs the suite as
`python -m bench` does, converts N leads at a modest rate (open loop), and prints per conversion:

- CPU ms of each process (every front and worker; a worker holds its service's handlers and relay), of the
  PostgreSQL backends split by the process they serve (a backend is matched to its client by the TCP port),
  of the broker (the machine's one VM: shared) and of this client;
- per database, from ``pg_stat_database`` (flushed by idle backends within seconds, hence the settle waits):
  transactions, rows inserted / updated / deleted, and deliveries handled (new inbox rows);
- with ``--statements``, the statements each process sent, from PostgreSQL's log (``log_statement = all``
  set on the benchmark's databases only; reading the server log needs its path and the right to read it).
  Logging costs PostgreSQL CPU, so that run's CPU figures are not the ones to compare.

The window runs from the first conversion until every notification is written and every outbox is drained.
Targets (issue 12): a conversion chain <= 10 ms CPU over all processes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable

import psycopg

from bench import cpu, load
from bench.__main__ import ROOT, SERVICES, known_user, prepare_env

PG_STATS = ("xact_commit", "tup_inserted", "tup_updated", "tup_deleted")
# Idle backends flush their counters to pg_stat_database at most every 10 s (PostgreSQL 15).
STATS_SETTLE = 11.0
SERVER_LOG = "/var/log/postgresql/postgresql-15-main.log"


def _dsn(service: str) -> str:
    from shangji_kit import settings
    from shangji_kit.db import libpq_dsn

    return libpq_dsn(settings.database_url(service))


def _socket_owners(pids: Iterable[int]) -> dict[int, int]:
    """Socket inode -> the pid (of ``pids``) holding it."""
    out = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                out[int(target[8:-1])] = pid
    return out


def _local_ports() -> dict[int, int]:
    """Local TCP port -> socket inode, for every TCP socket on the machine (IPv4 and IPv6)."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                out[int(fields[1].rsplit(":", 1)[1], 16)] = int(fields[9])
    return out


class Backends:
    """The PostgreSQL backends on the benchmark's databases, each by the client process it serves."""

    def __init__(self, databases: list[str], clients: dict[str, set[int]]) -> None:
        self.databases = databases
        self.clients = clients  # group name -> pids of that client group
        self.owner: dict[int, str] = {}

    def refresh(self) -> None:
        with psycopg.connect(_dsn("teams"), autocommit=True) as conn:
            rows = conn.execute("SELECT pid, client_port FROM pg_stat_activity WHERE datname = ANY(%s) "
                                "AND pid <> pg_backend_pid()", (self.databases,)).fetchall()
        by_pid = {p: g for g, pids in self.clients.items() for p in pids}
        sockets = _socket_owners(by_pid)
        ports = _local_ports()
        for backend, port in rows:
            client = sockets.get(ports.get(port, -1)) if port and port > 0 else None
            self.owner[backend] = f"pg {by_pid[client]}" if client in by_pid else "pg other"

    def source(self, group: str) -> cpu.PidSource:
        return lambda: {b for b, g in self.owner.items() if g == group}


def _pg_stats(databases: list[str]) -> dict[str, dict[str, int]]:
    with psycopg.connect(_dsn("teams"), autocommit=True) as conn:
        rows = conn.execute(f"SELECT datname, {', '.join(PG_STATS)} FROM pg_stat_database WHERE datname = ANY(%s)",
                            (databases,)).fetchall()
    return {r[0]: dict(zip(PG_STATS, r[1:], strict=True)) for r in rows}


def _count(service: str, sql: str, params: tuple = ()) -> int:
    with psycopg.connect(_dsn(service)) as conn:
        return conn.execute(sql, params).fetchone()[0]


def _wait_drained(user_id: str, expected: int, timeout: float = 120.0) -> None:
    """Until every notification is written and every outbox sent (one connection per database, polled
    every 0.1 s: connecting per poll cost the client several ms per conversion)."""
    conns = {s: psycopg.connect(_dsn(s), autocommit=True) for s in SERVICES}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = conns["notify"].execute("SELECT count(*) FROM notifications WHERE recipient_id = %s",
                                           (user_id,)).fetchone()[0]
            if done >= expected and not any(
                    c.execute("SELECT EXISTS (SELECT FROM outbox WHERE sent_at IS NULL)").fetchone()[0]
                    for c in conns.values()):
                return
            time.sleep(0.1)
        raise SystemExit(f"only {done} of {expected} notifications after {timeout:.0f} s")
    finally:
        for c in conns.values():
            c.close()


def _statements(log_path: str, offset: int, end: int, databases: set[str], groups: dict[int, str]) -> Counter:
    """Statements logged since ``offset`` on ``databases``, by the group of the backend that ran them."""
    line_re = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] \S+@(\S+) LOG:  (statement|execute [^:]*):")
    found: Counter = Counter()
    with open(log_path, "rb") as f:
        f.seek(offset)
        for raw in f.read(end - offset).splitlines():
            m = line_re.match(raw.decode(errors="replace"))
            if m and m.group(2) in databases:
                found[groups.get(int(m.group(1)), "pg other")] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversions", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="offered conversions per second (open loop)")
    parser.add_argument("--statements", action="store_true",
                        help="count statements per process from PostgreSQL's log (costs PostgreSQL CPU)")
    parser.add_argument("--server-log", default=SERVER_LOG)
    parser.add_argument("--trace", action="store_true", help="print the rows of one conversion's events")
    args = parser.parse_args()

    prepare_env()
    from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
    from shangji_kit import settings
    from shangji_kit.testing.processes import Suite

    databases = [settings.database_name(s) for s in settings.SERVICES]
    if args.statements:
        with psycopg.connect(_dsn("teams"), autocommit=True) as conn:
            for name in databases:  # new sessions only: set before the suite connects
                conn.execute(f'ALTER DATABASE "{name}" SET log_statement = \'all\'')

    print(f"bench.chain: {os.cpu_count()} cores; broker, database, services and clients share this machine")
    suite = Suite(SERVICES, dict(os.environ), ROOT / ".run" / "bench-logs").start()
    try:
        user_id = str(uuid.uuid4())
        token = known_user(user_id)
        md = [("authorization", f"Bearer {token}")]
        stub = leads_pb2_grpc.LeadsServiceStub(load.channel(suite.target("leads")))
        tag = uuid.uuid4().hex[:8]  # fresh companies and contacts: every conversion makes a new customer

        def create(i: int, kind: str = "链路客户") -> str:
            # A company's folded key drops punctuation: "-1" and "--1" would be one customer.
            return stub.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
                company=f"{kind} {tag} {i}", contact_name="钱总", email=f"{i}.{tag}.{len(kind)}@chain.example")),
                metadata=md, timeout=10).name

        # A few conversions first, so pools, caches and first-use statements are in place.
        for name in [create(i, "预热") for i in range(5)]:
            stub.ConvertLead(leads_pb2.ConvertLeadRequest(name=name), metadata=md, timeout=10)
        names = [create(i) for i in range(args.conversions)]
        processes = {f"{s} {r}": {p.proc.pid} for (s, r), p in suite.processes.items() if p.proc is not None}
        groups = {g: cpu.with_descendants(*pids) for g, pids in processes.items()}
        groups["client"] = {os.getpid()}
        backends = Backends(databases, groups)
        backends.refresh()
        pg_groups = ["pg other", *(f"pg {g}" for g in groups)]
        meter = cpu.CpuMeter({**{g: (lambda pids=pids: pids) for g, pids in groups.items()},
                              **{g: backends.source(g) for g in pg_groups},
                              "rabbitmq": lambda: cpu.named("beam.smp")})
        # The wait for the captures' counters to reach pg_stat_database doubles as the idle baseline: what the
        # processes burn with nothing to do (heartbeats, polls), which a longer window charges to conversions.
        meter.start()
        time.sleep(STATS_SETTLE)
        idle = meter.stop()
        backends.refresh()
        stats_before = _pg_stats(databases)
        inbox_before = {s: _count(s, "SELECT count(*) FROM inbox") for s in SERVICES}
        log_offset = os.path.getsize(args.server_log) if args.statements else 0
        meter.start()
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            calls = []
            for i, name in enumerate(names):
                delay = started + i / args.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                calls.append(pool.submit(stub.ConvertLead, leads_pb2.ConvertLeadRequest(name=name), metadata=md,
                                         timeout=10))
            for c in calls:
                c.result()
        _wait_drained(user_id, args.conversions + 5)
        backends.refresh()  # connections opened inside the window count whole (cpu.CpuMeter)
        usage = meter.stop()
        wall = time.perf_counter() - started
        log_end = os.path.getsize(args.server_log) if args.statements else 0
        time.sleep(STATS_SETTLE)
        stats_after = _pg_stats(databases)
        inbox_after = {s: _count(s, "SELECT count(*) FROM inbox") for s in SERVICES}

        n = args.conversions
        print(f"\n{n} conversions offered at {args.rate:.0f}/s, window {wall:.1f} s; CPU ms per conversion")
        per = usage.per_call_ms(n)
        # idle: the baseline's CPU per second over this window's length, per conversion
        idle_per = {g: v * wall / STATS_SETTLE for g, v in idle.per_call_ms(n).items()}
        print(f"  {'':<24}{'window':>8}{'of which idle':>15}")
        order = [g for g in (*groups, *pg_groups, "rabbitmq") if per.get(g, 0.0) >= 0.005]
        for g in order:
            print(f"  {g:<24}{per[g]:>8.2f}{idle_per.get(g, 0.0):>15.2f}"
                  + ("   (shared VM)" if g == "rabbitmq" else ""))
        pg_total = sum(per.get(g, 0.0) for g in pg_groups)
        pg_idle = sum(idle_per.get(g, 0.0) for g in pg_groups)
        print(f"  {'postgres, all backends':<24}{pg_total:>8.2f}{pg_idle:>15.2f}")
        print(f"  {'total':<24}{usage.total * 1000 / n:>8.2f}{sum(idle_per.values()):>15.2f}   (target <= 10)")

        print("\nper database, per conversion (pg_stat_database; deliveries: new inbox rows)")
        print(f"  {'database':<26}" + "".join(f"{c:>14}" for c in (*PG_STATS, "deliveries")))
        totals = Counter()
        for s in SERVICES:
            db_name = settings.database_name(s)
            cells = [(stats_after[db_name][c] - stats_before[db_name][c]) / n for c in PG_STATS]
            cells.append((inbox_after[s] - inbox_before[s]) / n)
            totals.update(dict(zip((*PG_STATS, "deliveries"), cells, strict=True)))
            print(f"  {db_name:<26}" + "".join(f"{v:>14.2f}" for v in cells))

        if args.statements:
            found = _statements(args.server_log, log_offset, log_end, set(databases), backends.owner)
            print("\nstatements per conversion by the process that sent them (PostgreSQL's log over the window; "
                  "BEGIN and COMMIT included; pg other: this client's polling)")
            for g, c in sorted(found.items()):
                print(f"  {g:<24}{c / n:>8.2f}")
        if args.trace:
            _trace(user_id)
        _ceilings(totals["xact_commit"], totals["deliveries"])
    finally:
        suite.stop()
        from shangji_kit import db, migrate

        db.dispose_all()
        for service in settings.SERVICES:
            migrate.drop_database(settings.database_name(service))


def _ceilings(transactions: float, deliveries: float) -> None:
    """The least this chain's transactions and deliveries cost here, from parts measured now (bench's (c), (d))."""
    from bench import consumer
    from bench.__main__ import raw_transaction

    _, tx_cpu = raw_transaction(2.0)
    count = 600
    event_cpu = consumer.measure("nameko", os.environ["SHANGJI_AMQP_URI"], count, 300)["usage"].total * 1000 / count
    print(f"\nceilings, same run: a plain psycopg transaction of a row, its outbox row and NOTIFY {tx_cpu:.2f} ms "
          f"(client + PostgreSQL); one event through the broker to a kit handler that does nothing {event_cpu:.2f} ms "
          f"(nameko consumer + broker, at 300/s). This chain's {transactions:.1f} transactions (some only the relays' "
          f"claims) and {deliveries:.1f} deliveries per conversion: floor about "
          f"{transactions * tx_cpu + deliveries * event_cpu:.1f} ms, before any work of the chain's own.")


def _trace(user_id: str) -> None:
    """The outbox rows and inbox rows one conversion left, in order, across the chain's databases."""
    with psycopg.connect(_dsn("notify")) as conn:
        subject = conn.execute("SELECT subject FROM notifications WHERE recipient_id = %s ORDER BY create_time "
                               "DESC LIMIT 1", (user_id,)).fetchone()[0]
    print(f"\ntrace: the last notification's subject {subject}; events per database (type, created, sent):")
    for s in SERVICES:
        with psycopg.connect(_dsn(s)) as conn:
            rows = conn.execute("SELECT type, created_at, sent_at FROM outbox ORDER BY position DESC LIMIT 6"
                                ).fetchall()
        for t, created, sent in reversed(rows):
            print(f"  {s:<14}{t:<60}{created:%H:%M:%S.%f} -> {sent and f'{sent:%H:%M:%S.%f}'}")


if __name__ == "__main__":
    main()
