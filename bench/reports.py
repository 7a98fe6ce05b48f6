"""Reports benchmark (issue 13): the funnel and the forecast over 1,000,000 deals and 10,000 users, as
department heads and as sales_ops, beside the same aggregates in plain SQL without visibility, in one run.

10,000 users in a binary department tree 8 levels deep (each department has a head), 1,000,000 deals over the
default pipeline's stages (open ones with an expected close date in the next 12 months and some probability
overrides, won ones with a win date in the last 12 months, lost ones), 1-3 stays each in the stage history,
100,000 team memberships; loaded with COPY into a fresh opportunities database, then VACUUM ANALYZE.

A funnel call is the use case ``reports.funnel`` (deals per stage now, conversion and time in stage over the
last 30 days from the stage history, sales cycle of the deals won in them); a forecast call is
``reports.forecast`` (open deals by close month with weighted, commit and best-case amounts; won by month) over
the next 6 months. The plain rows run the same aggregates as SQL text, with no visibility rule and no
organisation tables. Target: p99 < 200 ms and within 3x of the plain aggregate.

    python -m bench.reports [--opportunities 1000000] [--users 10000] [--calls 40] [--keep | --reuse]
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import sqlalchemy as sa

from bench import cpu
from bench.visibility import LEVELS, percentiles

# Stage keys of the default pipeline's version 1 in position order, and how deals are spread over them.
STAGES = ("discover", "validate", "analyse", "value", "decision_maker", "perception", "proposal", "negotiation",
          "won", "lost")
WEIGHTS = (20, 14, 11, 9, 7, 6, 5, 4, 12, 12)


def _viewers(url: str) -> dict:
    """sales_ops and the head of the first department (by path) at levels 2 and 4, read from the loaded database,
    so a run on a kept database (``--reuse``) measures the same people as the run that loaded it."""
    from shangji_kit.db import libpq_dsn

    with psycopg.connect(libpq_dsn(url)) as conn:
        viewers = {"sales_ops": str(conn.execute(
            "SELECT user_id FROM org_users WHERE 'sales_ops' = ANY(roles) LIMIT 1").fetchone()[0])}
        for level in (2, 4):
            head = conn.execute("SELECT head_id FROM org_departments WHERE array_length(string_to_array("
                                "trim(both '/' from path), '/'), 1) = %s ORDER BY path LIMIT 1", (level,)).fetchone()
            viewers[f"level {level} head"] = str(head[0])
        pipeline_id = conn.execute("SELECT id FROM pipelines WHERE is_default").fetchone()[0]
        history = conn.execute("SELECT count(*) FROM stage_history").fetchone()[0]
        departments = conn.execute("SELECT count(*) FROM org_departments").fetchone()[0]
        users = conn.execute("SELECT count(*) FROM org_users").fetchone()[0]
    return {"url": url, "viewers": viewers, "history": history, "departments": departments, "users": users,
            "pipeline_id": pipeline_id}


def prepare(opportunity_count: int, user_count: int, seed: int = 13, reuse: bool = False) -> dict:
    from shangji_kit import settings
    from shangji_kit.db import libpq_dsn
    from shangji_kit.testing import databases, servers

    os.environ.setdefault("SHANGJI_PG_DSN", servers.find_postgres())
    os.environ["SHANGJI_DB_PREFIX"] = "benchrep_"
    if reuse:
        return {**_viewers(settings.with_database(settings.server_dsn(), settings.database_name("opportunities"))),
                "load_seconds": 0.0}
    url = databases.create_from_template("opportunities", settings.database_name("opportunities"))
    rnd = random.Random(seed)

    departments = []  # (id, parent_id, path)
    by_level: list[list[tuple]] = [[] for _ in range(LEVELS)]
    root = str(uuid.UUID(int=rnd.getrandbits(128)))
    departments.append((root, None, f"/{root}/"))
    by_level[0].append(departments[0])
    for level in range(1, LEVELS):
        for parent in by_level[level - 1]:
            for _ in range(2):
                did = str(uuid.UUID(int=rnd.getrandbits(128)))
                dept = (did, parent[0], f"{parent[2]}{did}/")
                departments.append(dept)
                by_level[level].append(dept)
    users, heads = [], {}
    for dept in departments:
        uid = str(uuid.UUID(int=rnd.getrandbits(128)))
        users.append((uid, dept[0], "{sales_manager}"))
        heads[dept[0]] = uid
    leaves = by_level[-1] + by_level[-2]
    while len(users) < user_count - 1:
        users.append((str(uuid.UUID(int=rnd.getrandbits(128))), rnd.choice(leaves)[0], "{sales_rep}"))
    sales_ops = str(uuid.UUID(int=rnd.getrandbits(128)))
    users.append((sales_ops, None, "{sales_ops}"))

    now = datetime.now(UTC)
    today = now.date()
    started = time.perf_counter()
    with psycopg.connect(libpq_dsn(url)) as conn:
        # Row triggers off for the bulk load (a superuser's session setting): the report figures they keep are
        # rebuilt set-based at the end, as the migration does for existing rows.
        conn.execute("SET session_replication_role = replica")
        pipeline_id = conn.execute("SELECT id FROM pipelines WHERE is_default").fetchone()[0]
        with conn.cursor().copy("COPY org_departments (id, parent_id, path, head_id, update_time) FROM STDIN") as cp:
            for did, parent, path in departments:
                cp.write_row((did, parent, path, heads[did], now))
        with conn.cursor().copy("COPY org_users (user_id, department_id, roles, active, update_time) FROM STDIN") as cp:
            for uid, did, roles in users:
                cp.write_row((uid, did, roles, True, now))
        owners = [u[0] for u in users[:-1]]
        cols = ("id, title, customer_company, owner_id, registrant_id, pipeline_id, pipeline_version, stage_key, "
                "version, create_time, update_time, amount, currency, expected_close_date, probability, "
                "stage_enter_time, win_date, lost_reason, product_lines, source, customer_key")
        ids, history = [], []
        with conn.cursor().copy(f"COPY opportunities ({cols}) FROM STDIN") as cp:
            for i in range(opportunity_count):
                oid = str(uuid.UUID(int=rnd.getrandbits(128)))
                ids.append(oid)
                owner = rnd.choice(owners)
                stage = rnd.choices(range(len(STAGES)), WEIGHTS)[0]
                key = STAGES[stage]
                created = now - timedelta(seconds=rnd.randrange(30 * 86400, 2 * 365 * 86400))
                # The deal's stays: up to two earlier open stages in order, then the current one.
                prior_pool = range(min(stage, 8))
                prior = sorted(rnd.sample(prior_pool, min(len(prior_pool), rnd.randint(0, 2))))
                path = [*prior, stage]
                span = (now - created).total_seconds()
                offsets = sorted(rnd.random() * span for _ in range(len(path) - 1))
                times = [created, *(created + timedelta(seconds=x) for x in offsets)]
                stays = list(zip((STAGES[n] for n in path), times, strict=True))
                for n, (stay_key, t) in enumerate(stays):
                    exit_time = stays[n + 1][1] if n + 1 < len(stays) else None
                    history.append((oid, stay_key, t, exit_time))
                is_open = stage < 8
                close = today + timedelta(days=rnd.randrange(0, 365)) if is_open else None
                win = stays[-1][1].date() if key == "won" else None
                cp.write_row((oid, f"商机 {i}", f"客户 {i % 50000}", owner, owner, pipeline_id, 1, key, 1, created,
                              stays[-1][1], rnd.randrange(1, 5000) * 100, "CNY", close,
                              rnd.choice((None, None, None, rnd.randrange(0, 101))), stays[-1][1], win,
                              "价格" if key == "lost" else "", "{ERP}", rnd.choice(("展会", "官网", "转介绍")),
                              f"k{i % 50000}"))
        with conn.cursor().copy("COPY stage_history (opportunity_id, stage_key, enter_time, exit_time) FROM STDIN"
                                ) as cp:
            for row in history:
                cp.write_row(row)
        with conn.cursor().copy("COPY team_members (opportunity_id, user_id, role, can_edit, add_time) FROM STDIN"
                                ) as cp:
            seen = set()
            for _ in range(opportunity_count // 10):
                pair = (rnd.choice(ids), rnd.choice(owners))
                if pair not in seen:
                    seen.add(pair)
                    cp.write_row((*pair, "presales", False, now))
        # The load ran with triggers off (below); the figures they keep are built once, set-based.
        conn.execute("SELECT report_rollups_rebuild()")
        conn.commit()
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {**_viewers(url), "load_seconds": time.perf_counter() - started}


def plain_funnel(conn: sa.Connection, pipeline_id: str, start: datetime, end: datetime, first: date,
                 last: date) -> None:
    """The funnel's aggregates with no visibility rule and no organisation tables."""
    p = {"p": pipeline_id, "start": start, "end": end, "first": first, "last": last}
    conn.execute(sa.text("SELECT stage_key, count(*), sum(amount) FROM opportunities WHERE pipeline_id = :p "
                         "AND registration_state = 'active' GROUP BY stage_key"), p).all()
    conn.execute(sa.text(
        "SELECT h.stage_key, count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM stage_history h2 "
        "JOIN pipeline_stages s2 ON s2.pipeline_id = o.pipeline_id AND s2.version = o.pipeline_version "
        "AND s2.key = h2.stage_key WHERE h2.opportunity_id = h.opportunity_id AND h2.id > h.id "
        "AND s2.category <> 'lost' AND s2.position > s.position)) FROM stage_history h "
        "JOIN opportunities o ON o.id = h.opportunity_id JOIN pipeline_stages s ON s.pipeline_id = o.pipeline_id "
        "AND s.version = o.pipeline_version AND s.key = h.stage_key WHERE h.enter_time >= :start "
        "AND h.enter_time < :end AND o.registration_state = 'active' AND o.pipeline_id = :p GROUP BY h.stage_key"),
        p).all()
    conn.execute(sa.text(
        "SELECT h.stage_key, avg(extract(epoch FROM h.exit_time - h.enter_time) / 86400) FROM stage_history h "
        "JOIN opportunities o ON o.id = h.opportunity_id WHERE h.exit_time >= :start AND h.exit_time < :end "
        "AND o.registration_state = 'active' AND o.pipeline_id = :p GROUP BY h.stage_key"), p).all()
    conn.execute(sa.text(
        "SELECT o.win_date - (o.create_time AT TIME ZONE 'Asia/Shanghai')::date FROM opportunities o "
        "JOIN pipeline_stages s ON s.pipeline_id = o.pipeline_id AND s.version = o.pipeline_version "
        "AND s.key = o.stage_key WHERE s.category = 'won' AND o.win_date BETWEEN :first AND :last "
        "AND o.registration_state = 'active' AND o.pipeline_id = :p"), p).all()


def plain_forecast(conn: sa.Connection, first: date, last: date) -> None:
    p = {"first": first, "last": last}
    join = ("FROM opportunities o JOIN pipeline_stages s ON s.pipeline_id = o.pipeline_id "
            "AND s.version = o.pipeline_version AND s.key = o.stage_key ")
    prob = "coalesce(o.probability, s.probability)"
    conn.execute(sa.text(
        f"SELECT date_trunc('month', o.expected_close_date)::date AS m, count(*), sum(o.amount), "
        f"sum(o.amount * {prob} / 100), sum(o.amount) FILTER (WHERE {prob} >= 70), "
        f"sum(o.amount) FILTER (WHERE {prob} >= 40) {join}WHERE s.category = 'open' "
        f"AND o.expected_close_date BETWEEN :first AND :last AND o.registration_state = 'active' GROUP BY m"),
        p).all()
    conn.execute(sa.text(f"SELECT date_trunc('month', o.win_date)::date AS m, count(*), sum(o.amount) {join}"
                         f"WHERE s.category = 'won' AND o.win_date BETWEEN :first AND :last "
                         f"AND o.registration_state = 'active' GROUP BY m"), p).all()


def timed(call, calls: int, meter: cpu.CpuMeter, warmup: int = 3) -> tuple[float, float, cpu.Usage]:
    for _ in range(warmup):
        call()
    samples = []
    meter.start()
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    usage = meter.stop()
    return (*percentiles(samples), usage)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the loaded database for another look")
    parser.add_argument("--reuse", action="store_true", help="measure on the database a --keep run left")
    args = parser.parse_args()

    setup = prepare(args.opportunities, args.users, reuse=args.reuse)
    from opportunities import bootstrap
    from opportunities.domain.reporting import Period
    from opportunities.service_layer import reports
    from opportunities.service_layer.report_scope import Scope
    from shangji_kit import company_time, migrate, settings

    print(f"bench reports: {setup['users']} users, {setup['departments']} departments in {LEVELS} levels, "
          f"{args.opportunities} deals, {setup['history']} stage stays (loaded with COPY and analysed in "
          f"{setup['load_seconds']:.1f} s)")
    uow = bootstrap.reports_uow_factory(settings.Settings.for_service("opportunities"))
    today = company_time.today(datetime.now(UTC))
    funnel_period = Period(today - timedelta(days=29), today)
    forecast_period = Period(company_time.month_start(today),
                             company_time.month_start(today + timedelta(days=160)) + timedelta(days=27))
    start, end = company_time.day_range(funnel_period.start, funnel_period.end)
    engine = sa.create_engine(setup["url"])
    from shangji_kit import db as kit_db

    meter = cpu.CpuMeter({"client": cpu.this_process,
                          "postgres": cpu.postgres_backends(kit_db.libpq_dsn(setup["url"]),
                                                            [settings.database_name("opportunities")])})
    groups = ["client", "postgres"]
    try:
        with engine.connect() as conn:
            plain = {
                "funnel": timed(lambda: plain_funnel(conn, setup["pipeline_id"], start, end, funnel_period.start,
                                                     funnel_period.end), args.calls, meter),
                "forecast": timed(lambda: plain_forecast(conn, forecast_period.start, forecast_period.end),
                                  args.calls, meter)}
        print(f"{'report':<10}{'caller':<26}{'p50 ms':>9}{'p99 ms':>9}{'p99 / plain':>13}"
              + cpu.cpu_header(groups))
        for name in ("funnel", "forecast"):
            base_p50, base_p99, usage = plain[name]
            print(f"{name:<10}{'plain SQL, no visibility':<26}{base_p50:>9.1f}{base_p99:>9.1f}{'1.0x':>13}"
                  + cpu.cpu_cells(usage, args.calls, groups))
            for label, viewer in setup["viewers"].items():
                if name == "funnel":
                    def call(v=viewer):
                        return reports.funnel(Scope(), funnel_period, v, uow())
                else:
                    def call(v=viewer):
                        return reports.forecast(Scope(), forecast_period, "month", v, uow())
                p50, p99, usage = timed(call, args.calls, meter)
                print(f"{name:<10}{label:<26}{p50:>9.1f}{p99:>9.1f}{p99 / base_p99:>12.1f}x"
                      + cpu.cpu_cells(usage, args.calls, groups))
        print("target: p99 < 200 ms and within 3x of the plain aggregate")
        print(cpu.explain(groups))
    finally:
        engine.dispose()
        from shangji_kit import db

        db.dispose_all()
        if not (args.keep or args.reuse):
            migrate.drop_database(settings.database_name("opportunities"))


if __name__ == "__main__":
    main()
