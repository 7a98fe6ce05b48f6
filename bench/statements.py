"""Statements built per call, built once, or prepared in psycopg (issue 12): CPU per call of one read.

GetOpportunity's read (a deal by id, with its stage, under the visibility rule) and page 1 of
ListOpportunities, as a department head, on a database loaded like ``bench.visibility``, three ways:

- built per call: the repository's way today (``_SELECT.where(..., visible(viewer))`` each call: SQLAlchemy
  builds the expression and derives its cache key, then finds the compiled form in its cache);
- built once: one statement per viewer shape built at import (``visibility.VisibleRule``), executed with
  the viewer's values as parameters through the same SQLAlchemy connection;
- psycopg prepared: the same SQL text sent straight through psycopg (``prepare=True``), rows as tuples;
- a unit of work per call: the one-row read on a connection checked out of the pool and rolled back, as
  GetOpportunity's unit of work does (a rollback is where psycopg alone forgets its prepared statements).

CPU per call of this process and of the PostgreSQL backend, in-process (no gRPC), back to back, repeated.

    python -m bench.statements [--opportunities 100000] [--users 5000] [--calls 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import sqlalchemy as sa

from bench import cpu


def deal_select():
    """(the deal read joined with its stage, the per-call visibility clause) wherever the service keeps them."""
    try:  # the repositories per aggregate (issue 10), or the one repository module before them
        from opportunities.adapters.deal_rows import SELECT, visible
    except ImportError:
        from opportunities.adapters.repository import _SELECT as SELECT
        from opportunities.adapters.repository import visible
    return SELECT, visible


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from bench.visibility import prepare

    # Its own database per SHANGJI_BENCH_PREFIX, as the other benchmarks (two worktrees may run it at once).
    setup = prepare(args.opportunities, args.users, prefix=os.environ.get("SHANGJI_BENCH_PREFIX", "bench") + "vis_")
    import psycopg

    from opportunities.adapters.orm import opportunities, org, team_members

    _SELECT, visible = deal_select()
    from shangji_kit import db, migrate, settings, visibility

    label = "level 5 head"
    manager = setup["managers"][label]
    ids = setup["below"][label]
    engine = db.engine(setup["url"])
    member = team_members.c.user_id
    team_ids = sa.select(team_members.c.opportunity_id).where(member == visibility.viewer_param(member.type))
    rule = visibility.VisibleRule(org, opportunities.c.owner_id, team_ids=team_ids, id_col=opportunities.c.id,
                                  head_extra=[opportunities.c.owner_id.is_(None)])
    by_id = opportunities.c.id == sa.bindparam("id", type_=opportunities.c.id.type)
    get_once = rule.per_shape(lambda visible: _SELECT.where(by_id, visible))
    get_one = rule.per_shape(lambda visible: _SELECT.where(by_id, visible), one=True)
    page = (opportunities.c.create_time.desc(), opportunities.c.id)
    list_once = rule.per_shape(lambda visible: _SELECT.where(visible).order_by(*page).limit(51))
    meter = cpu.CpuMeter({"client": cpu.this_process,
                          "postgres": cpu.postgres_backends(db.libpq_dsn(setup["url"]),
                                                            [settings.database_name("opportunities")])})
    groups = ["client", "postgres"]
    dialect = engine.dialect
    results: dict[str, list[tuple[float, float, float]]] = {}
    try:
        with engine.connect() as conn, psycopg.connect(db.libpq_dsn(setup["url"]),
                                                       options="-c plan_cache_mode=force_custom_plan") as raw:
            viewer = visibility.load_viewer(conn, org, manager)
            shape = visibility.shape_of(viewer)
            params = rule.params(viewer)
            get_sql = str(get_once[shape].compile(dialect=dialect))
            list_compiled = list_once[shape].compile(dialect=dialect)
            list_sql, list_params = str(list_compiled), {**list_compiled.params, **params}

            def get_per_call(i):
                return conn.execute(_SELECT.where(opportunities.c.id == ids[i % len(ids)], visible(viewer))).first()

            def get_built_once(i):
                return conn.execute(get_once[shape], {"id": ids[i % len(ids)], **params}).first()

            def get_built_once_exists(i):
                return conn.execute(get_one[shape], {"id": ids[i % len(ids)], **params}).first()

            def get_unit_of_work(i):
                with engine.connect() as uow:
                    row = uow.execute(get_one[shape], {"id": ids[i % len(ids)], **params}).first()
                    uow.rollback()
                return row

            def get_prepared(i):
                return raw.execute(get_sql, {"id": ids[i % len(ids)], **params}, prepare=True).fetchone()

            def list_per_call(i):
                return conn.execute(_SELECT.where(visible(viewer)).order_by(*page).limit(51)).fetchall()

            def list_built_once(i):
                return conn.execute(list_once[shape], params).fetchall()

            def list_prepared(i):
                return raw.execute(list_sql, list_params, prepare=True).fetchall()

            ways = {"Get, built per call": get_per_call, "Get, built once": get_built_once,
                    "Get, once, one-row rule": get_built_once_exists, "Get, one-row, unit of work": get_unit_of_work,
                    "Get, psycopg prepared": get_prepared, "List, built per call": list_per_call,
                    "List, built once": list_built_once, "List, psycopg prepared": list_prepared}
            for name, way in ways.items():  # same answers, and warm
                assert way(0) is not None, name
                for i in range(50):
                    way(i)
            for _ in range(args.rounds):
                for name, way in ways.items():
                    meter.start()
                    t0 = time.perf_counter()
                    for i in range(args.calls):
                        way(i)
                    wall = (time.perf_counter() - t0) * 1000 / args.calls
                    usage = meter.stop().per_call_ms(args.calls)
                    results.setdefault(name, []).append((wall, usage["client"], usage["postgres"]))
        print(f"\nbench statements: {args.opportunities} deals, {label}, {args.calls} calls x {args.rounds} rounds, "
              f"medians (ms per call), {os.cpu_count()} cores")
        print(f"{'way':<26}{'wall':>8}" + cpu.cpu_header(groups))
        for name, rs in results.items():
            wall, client, pg = (statistics.median(x[k] for x in rs) for k in range(3))
            print(f"{name:<26}{wall:>8.3f}{client:>10.3f}{pg:>10.3f}{client + pg:>10.3f}")
        print(cpu.explain(groups))
    finally:
        db.dispose_all()
        migrate.drop_database(settings.database_name("opportunities"))


if __name__ == "__main__":
    main()
