"""Visibility benchmark (issue: teams): the first page of opportunities a manager may see.

10,000 users in a department tree 8 levels deep, 1,000,000 opportunities, 100,000 team
memberships, loaded with COPY into a fresh opportunities database. For managers at three depths it
times the service's own list use case (visibility rules in SQL) and, in the same run, the same
first page without any rule (plain ORDER BY create_time DESC LIMIT). Target: p99 < 50 ms and
within 3x of the unfiltered query.

    python -m bench.visibility [--opportunities 1000000] [--users 10000] [--calls 200]
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


def prepare(opportunity_count: int, user_count: int, seed: int = 7) -> dict:
    from shangji_kit import settings
    from shangji_kit.db import libpq_dsn
    from shangji_kit.testing import databases, servers

    os.environ.setdefault("SHANGJI_PG_DSN", servers.find_postgres())
    os.environ["SHANGJI_DB_PREFIX"] = "benchvis_"
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
    return {"url": url, "managers": managers, "load_seconds": load_seconds, "departments": len(departments),
            "users": len(users)}


def percentiles(samples: list[float]) -> tuple[float, float]:
    data = sorted(samples)
    return statistics.median(data), data[min(len(data) - 1, int(0.99 * len(data)))]


def explain(uow_factory, user_id: str) -> None:
    from opportunities.adapters.orm import opportunities
    from opportunities.adapters.repository import _SELECT, visible

    with uow_factory() as uow:
        viewer = uow.org.viewer(user_id)
        stmt = _SELECT.where(visible(viewer)).order_by(opportunities.c.create_time.desc(), opportunities.c.id).limit(51)
        sql = stmt.compile(uow.session, compile_kwargs={"literal_binds": True})
        for row in uow.session.execute(sa.text(f"EXPLAIN ANALYZE {sql}")):
            print("    " + row[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--explain", action="store_true", help="print each manager's query plan")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database for another look")
    args = parser.parse_args()

    setup = prepare(args.opportunities, args.users)
    from opportunities import bootstrap
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
    finally:
        engine.dispose()
        from shangji_kit import db

        db.dispose_all()
        if not args.keep:
            migrate.drop_database(settings.database_name("opportunities"))


if __name__ == "__main__":
    main()
