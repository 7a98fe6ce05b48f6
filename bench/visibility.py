"""Visibility benchmark (issue: teams): the first page of opportunities a manager may see.

10,000 users in a department tree 8 levels deep, 1,000,000 opportunities, 100,000 team
memberships, loaded with COPY into a fresh opportunities database. For managers at three depths it
times the service's own list use case (visibility rules in SQL) and, in the same run, the same
first page without any rule (plain ORDER BY create_time DESC LIMIT). Target: p99 < 50 ms and
within 3x of the unfiltered query.

Then, through a real opportunities front on the same database at 16 client threads, GetOpportunity (of
deals below the manager) and page 1 of ListOpportunities as each department head, with the CPU per call in
every process (``bench.cpu``) and the grpcio echo ceiling of the same run. Target (issue 12): at most
1.0 ms of CPU per call over all processes, p99 < 20 ms.

    python -m bench.visibility [--opportunities 1000000] [--users 10000] [--calls 200] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import sqlalchemy as sa

LEVELS = 8


def prepare(opportunity_count: int, user_count: int, seed: int = 7, prefix: str = "benchvis_") -> dict:
    from shangji_kit import settings
    from shangji_kit.db import libpq_dsn
    from shangji_kit.testing import databases, servers

    os.environ.setdefault("SHANGJI_PG_DSN", servers.find_postgres())
    os.environ["SHANGJI_DB_PREFIX"] = prefix
    url = databases.create_from_template("opportunities", settings.database_name("opportunities"))
    rnd = random.Random(seed)

    # Departments: a binary tree 8 levels deep (255 departments); each has a head.
    departments = []  # (id, parent_id, path, level)
    by_level: list[list[tuple]] = [[] for _ in range(LEVELS)]
    root = str(uuid.UUID(int=rnd.getrandbits(128)))
    departments.append((root, None, f"/{root}/", 0))
    by_level[0].append(departments[0])
    for level in range(1, LEVELS):
        for parent in by_level[level - 1]:
            for _ in range(2):
                did = str(uuid.UUID(int=rnd.getrandbits(128)))
                dept = (did, parent[0], f"{parent[2]}{did}/", level)
                departments.append(dept)
                by_level[level].append(dept)
    users = []  # (id, department_id, roles)
    heads = {}
    for dept in departments:
        uid = str(uuid.UUID(int=rnd.getrandbits(128)))
        users.append((uid, dept[0], "{sales_manager}"))
        heads[dept[0]] = uid
    leaves = by_level[-1] + by_level[-2]
    while len(users) < user_count:
        users.append((str(uuid.UUID(int=rnd.getrandbits(128))), rnd.choice(leaves)[0], "{sales_rep}"))

    now = datetime.now(UTC)
    with psycopg.connect(libpq_dsn(url)) as conn:
        pipeline_id = conn.execute("SELECT id FROM pipelines WHERE is_default").fetchone()[0]
        with conn.cursor().copy("COPY org_departments (id, parent_id, path, head_id, update_time) FROM STDIN") as cp:
            for did, parent, path, _ in departments:
                cp.write_row((did, parent, path, heads[did], now))
        with conn.cursor().copy("COPY org_users (user_id, department_id, roles, active, update_time) FROM STDIN") as cp:
            for uid, did, roles in users:
                cp.write_row((uid, did, roles, True, now))
        owner_ids = [u[0] for u in users]
        started = time.perf_counter()
        cols = ("id, title, customer_company, owner_id, registrant_id, pipeline_id, stage_key, version, "
                "create_time, update_time")
        ids = []
        with conn.cursor().copy(f"COPY opportunities ({cols}) FROM STDIN") as cp:
            for i in range(opportunity_count):
                oid = str(uuid.UUID(int=rnd.getrandbits(128)))
                ids.append(oid)
                owner = rnd.choice(owner_ids)
                created = now - timedelta(seconds=rnd.randrange(0, 2 * 365 * 86400))
                cp.write_row((oid, f"商机 {i}", f"客户 {i % 5000}", owner, owner, pipeline_id, "discover", 1,
                              created, created))
        members = "COPY team_members (opportunity_id, user_id, role, can_edit, add_time) FROM STDIN"
        with conn.cursor().copy(members) as cp:
            seen = set()
            for _ in range(opportunity_count // 10):
                pair = (rnd.choice(ids), rnd.choice(owner_ids))
                if pair in seen:
                    continue
                seen.add(pair)
                cp.write_row((*pair, "presales", False, now))
        conn.commit()
        conn.execute("ANALYZE")
        load_seconds = time.perf_counter() - started
    # Managers at three depths: near the top, the middle and a team lead.
    managers = {f"level {lvl + 1} head": heads[by_level[lvl][0][0]] for lvl in (1, 4, 7)}
    below = {}
    with psycopg.connect(libpq_dsn(url)) as conn:
        for label, manager in managers.items():
            below[label] = [str(r[0]) for r in conn.execute(
                "SELECT o.id FROM org_departments h JOIN org_departments d ON d.path LIKE h.path || '%%' "
                "JOIN org_users u ON u.department_id = d.id JOIN opportunities o ON o.owner_id::text = u.user_id "
                "WHERE h.head_id = %s AND u.user_id <> %s LIMIT 200", (manager, manager))]
    return {"url": url, "managers": managers, "below": below, "load_seconds": load_seconds,
            "departments": len(departments), "users": len(users)}


def percentiles(samples: list[float]) -> tuple[float, float]:
    data = sorted(samples)
    return statistics.median(data), data[min(len(data) - 1, int(0.99 * len(data)))]


def explain(uow_factory, user_id: str) -> None:
    from bench.statements import deal_select
    from opportunities.adapters.orm import opportunities

    _SELECT, visible = deal_select()

    with uow_factory() as uow:
        viewer = uow.org.viewer(user_id)
        stmt = _SELECT.where(visible(viewer)).order_by(opportunities.c.create_time.desc(), opportunities.c.id).limit(51)
        sql = stmt.compile(uow.session, compile_kwargs={"literal_binds": True})
        for row in uow.session.execute(sa.text(f"EXPLAIN ANALYZE {sql}")):
            print("    " + row[0])


def start_front(bench: str):
    """An opportunities front on the loaded database, as a subprocess: (the process, its target)."""
    from bench.__main__ import ROOT
    from shangji_kit.testing.processes import ServiceProcess, free_port

    port = free_port()
    env = dict(os.environ, SHANGJI_OPPORTUNITIES_GRPC_PORT=str(port), SHANGJI_ACCESS_LOG="false")
    log_dir = ROOT / ".run" / "bench-logs" / bench
    log_dir.mkdir(parents=True, exist_ok=True)
    front = ServiceProcess("opportunities", "front", env, log_dir).start()
    front.wait_started(60)
    return front, f"127.0.0.1:{port}"


def through_front(setup: dict, clients: int, seconds: float) -> None:
    """GetOpportunity and ListOpportunities page 1 as each head, through a front, with CPU per call."""

    from bench import cpu, load
    from bench.__main__ import echo_ceiling
    from shangji.opportunities.v1 import opportunities_pb2 as pb2
    from shangji.opportunities.v1 import opportunities_pb2_grpc
    from shangji_kit import settings
    from shangji_kit.auth import mint_dev_token
    from shangji_kit.db import libpq_dsn

    front, target = start_front("visibility")
    meter = cpu.CpuMeter({
        "front": lambda: cpu.with_descendants(front.proc.pid),
        "postgres": cpu.postgres_backends(libpq_dsn(setup["url"]), [settings.database_name("opportunities")]),
        "client": cpu.this_process,
    })
    groups = ["front", "postgres", "client"]
    try:
        results = []
        for label, manager in setup["managers"].items():
            md = [("authorization", f"Bearer {mint_dev_token(manager)}")]
            names = [f"opportunities/{i}" for i in setup["below"][label]]

            def lister(i, md=md):
                stub = opportunities_pb2_grpc.OpportunitiesServiceStub(load.channel(target))
                return lambda: stub.ListOpportunities(pb2.ListOpportunitiesRequest(page_size=50), metadata=md,
                                                      timeout=5)

            def getter(i, md=md, names=names):
                stub = opportunities_pb2_grpc.OpportunitiesServiceStub(load.channel(target))
                turn = [i]

                def call():
                    turn[0] += 1
                    stub.GetOpportunity(pb2.GetOpportunityRequest(name=names[turn[0] % len(names)]), metadata=md,
                                        timeout=5)
                return call

            results.append(load.run(f"List, {label[:-5]}", clients, seconds, lister, meter=meter))
            results.append(load.run(f"Get, {label[:-5]}", clients, seconds, getter, meter=meter))
        echo = echo_ceiling(clients, seconds, pb2.GetOpportunityRequest(name=f"opportunities/{uuid.uuid4()}")
                            .SerializeToString())
        print(f"\nthrough the opportunities front, {clients} client threads (calls/s, ms, CPU ms per call)")
        load.print_table([*results, echo], groups, ceiling=echo)
        print(cpu.explain(groups))
        print("target: at most 1.0 ms of CPU per call over all processes, p99 < 20 ms")
    finally:
        front.terminate(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds of each load through the front")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--explain", action="store_true", help="print each manager's query plan")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database for another look")
    args = parser.parse_args()

    setup = prepare(args.opportunities, args.users)
    from opportunities import bootstrap
    try:  # one module per workflow (issue 10), or the services module before it
        from opportunities.service_layer import lifecycle as services
    except ImportError:
        from opportunities.service_layer import services
    from shangji_kit import migrate, settings

    print(f"bench visibility: {setup['users']} users, {setup['departments']} departments in {LEVELS} levels, "
          f"{args.opportunities} opportunities (loaded with COPY in {setup['load_seconds']:.1f} s)")
    uow = bootstrap.uow_factory(settings.Settings.for_service("opportunities"))
    engine = sa.create_engine(setup["url"])
    plain = sa.text("SELECT o.*, s.display_name FROM opportunities o JOIN stages s "
                    "ON s.pipeline_id = o.pipeline_id AND s.key = o.stage_key "
                    "ORDER BY o.create_time DESC, o.id LIMIT 51")
    try:
        with engine.connect() as conn:
            for _ in range(20):
                conn.execute(plain).fetchall()
            samples = []
            for _ in range(args.calls):
                t0 = time.perf_counter()
                conn.execute(plain).fetchall()
                samples.append((time.perf_counter() - t0) * 1000)
        base_p50, base_p99 = percentiles(samples)
        print(f"{'query':<34}{'rows':>6}{'p50 ms':>9}{'p99 ms':>9}{'p99 / plain':>13}")
        print(f"{'plain SQL, no visibility rules':<34}{50:>6}{base_p50:>9.2f}{base_p99:>9.2f}{'1.0x':>13}")
        for label, manager in setup["managers"].items():
            for _ in range(10):
                services.list_opportunities(manager, 50, "", uow())
            samples = []
            rows = 0
            for _ in range(args.calls):
                t0 = time.perf_counter()
                page = services.list_opportunities(manager, 50, "", uow())
                samples.append((time.perf_counter() - t0) * 1000)
                rows = len(page.opportunities)
            p50, p99 = percentiles(samples)
            print(f"{'ListOpportunities, ' + label:<34}{rows:>6}{p50:>9.2f}{p99:>9.2f}{p99 / base_p99:>12.1f}x")
            if args.explain:
                explain(uow, manager)
        print("target: p99 < 50 ms and within 3x of the plain query")
        through_front(setup, args.clients, args.seconds)
    finally:
        engine.dispose()
        from shangji_kit import db

        db.dispose_all()
        if not args.keep:
            migrate.drop_database(settings.database_name("opportunities"))


if __name__ == "__main__":
    main()
