"""Lead import benchmark (issue 5, issue 12): 100,000 rows into a pool that already holds 1,000,000 leads.

A leads database (prefix ``benchimp_``) is filled with 1,000,000 leads by COPY (held by 1,000 reps or in the
pool, each with its de-duplication keys); the 1,000 reps are active sales reps in the organisation projection,
each with a territory (a region) and half with an expertise (an industry), and the company has scoring rules
(industry, title, region) with MQL/SQL thresholds. That pool is kept as a template (``benchimp_pool_*``, built
once, about 3 minutes on a busy machine) and each run works on a clone of it. Then a generated CSV of 100,000
rows (~4% duplicates of existing leads by phone, ~1% duplicates of earlier rows by email) is imported into the
pool with ``auto_assign`` through the service's import use case, timed from the file's bytes to the commit:
reading the CSV, validation and normalisation, de-duplication against the database and the file, scoring,
assignment by the rules (territory, expertise, workload, round robin), the new leads written, merge rows, and
the outbox events (LeadCreated — carrying the score, qualification and assignee — LeadFlaggedDuplicate or
LeadMerged per row, and the summary). ``--path`` chooses the set-based way (the default: staged by COPY,
decided and written by SQL) or the row-by-row one, or both in turn on clones of the same pool.

The ceiling, in the same run: a plain COPY of the very rows the import wrote into the leads table of another
clone of the pool (the same 1,000,000 rows, the same indexes and trigger). Each figure is printed with the CPU
it cost in this process and in the PostgreSQL backends (``bench.cpu``).
Target (issue 12): the whole import < 5 s on 2 cores and within 3x of the COPY.

    python -m bench.lead_import [--existing 1000000] [--rows 100000] [--mode merge|flag] [--path sets|rows|both]
                                [--no-assign] [--keep] [--rebuild]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

REGIONS = ["北京", "上海", "天津", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
           "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
           "内蒙古", "广西", "西藏", "宁夏", "新疆"]
INDUSTRIES = ["制造", "零售", "物流", "医疗", "教育", "金融", "能源", "软件"]
COLUMNS = ["company", "contact_name", "phone", "email", "region", "source", "industry", "contact_title"]
TITLES = ["采购经理", "总经理", "工程师", "IT 总监", "行政"]
SCORING_RULES = [{"field": "industry", "values": ["制造", "能源"], "points": 20},
                 {"field": "title", "values": ["经理", "总监"], "points": 15},
                 {"field": "region", "values": ["广东", "江苏", "浙江"], "points": 10}]


def _phone(i: int) -> str:
    return f"139{i:08d}"


def _pool_template(existing: int, seed: int) -> str:
    from shangji_kit.testing import databases

    return f"benchimp_pool_{existing}_{seed}_{databases.migrations_hash('leads')}"


def _admin():
    from shangji_kit import settings
    from shangji_kit.db import libpq_dsn

    return psycopg.connect(libpq_dsn(settings.with_database(settings.server_dsn(), "postgres")), autocommit=True)


def clone(template: str, name: str) -> str:
    """A copy of the prepared pool (file copy: WAL-logging a 1,000,000-lead database took minutes)."""
    from psycopg import sql

    from shangji_kit import migrate, settings

    migrate.drop_database(name)
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
            sql.Identifier(name), sql.Identifier(template)))
    return settings.with_database(settings.server_dsn(), name)


def prepare(existing: int, seed: int = 11, rebuild: bool = False) -> str:
    """The name of a database holding the pool (built once per size, seed and migrations; kept)."""
    from leads.domain.dedupe import company_key, region_key
    from shangji_kit import migrate
    from shangji_kit.db import libpq_dsn
    from shangji_kit.testing import databases

    name = _pool_template(existing, seed)
    with _admin() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists and not rebuild:
        return name
    building = name + "_build"
    url = databases.create_from_template("leads", building)
    rnd = random.Random(seed)
    reps = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(1000)]
    now = datetime.now(UTC)
    region_keys = {r: region_key(r) for r in REGIONS}
    columns = ("id, company, contact_name, phone, email, region, source, owner_id, state, version, create_time, "
               "update_time, industry, hold_time, company_key, region_key")
    started = time.perf_counter()
    with psycopg.connect(libpq_dsn(url)) as conn:
        with conn.cursor().copy(f"COPY leads ({columns}) FROM STDIN") as cp:
            for i in range(existing):
                company = f"存量企业{i}有限公司"
                region = REGIONS[i % len(REGIONS)]
                owner = reps[i % len(reps)] if i % 2 else None
                created = now - timedelta(seconds=rnd.randrange(0, 365 * 86400))
                cp.write_row((str(uuid.UUID(int=rnd.getrandbits(128))), company, f"联系人{i}", f"+86{_phone(i)}",
                              f"old{i}@example.com", region, "legacy", owner, "OPEN", 1, created, created,
                              INDUSTRIES[i % len(INDUSTRIES)], created if owner else None, company_key(company),
                              region_keys[region]))
        conn.commit()
        conn.execute("ANALYZE leads")
        # The reps as teams would have described them: active sales reps with a territory, half an expertise.
        with conn.cursor().copy("COPY org_users (user_id, roles, active, update_time) FROM STDIN") as cp:
            for rep in reps:
                cp.write_row((rep, ["sales_rep"], True, now))
        with conn.cursor().copy("COPY reps (user_id, territories, expertise, capacity, update_time) FROM STDIN") as cp:
            for i, rep in enumerate(reps):
                cp.write_row((rep, [REGIONS[i % len(REGIONS)]], [INDUSTRIES[i % len(INDUSTRIES)]] if i % 2 else [],
                              0, now))
        conn.execute("UPDATE pool_settings SET mql_threshold = 30, sql_threshold = 60, scoring_rules = %s",
                     (Jsonb(SCORING_RULES),))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    migrate.drop_database(name)
    with _admin() as conn:
        conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    print(f"bench lead_import: {existing} leads loaded with COPY in {time.perf_counter() - started:.1f} s "
          f"(kept as {name})")
    return name


def generate(existing: int, count: int, seed: int = 12) -> bytes:
    """A CSV of ``count`` rows: ~4% repeat an existing lead's phone, ~1% an earlier row's email."""
    rnd = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for i in range(count):
        n = existing + 1000 + i
        phone, email = _phone(n), f"new{i}@example.com"
        roll = rnd.random()
        if roll < 0.04:
            phone = _phone(rnd.randrange(existing))  # a lead already in the database
        elif roll < 0.05 and i > 0:
            phone, email = "", f"new{rnd.randrange(i)}@Example.com"  # an earlier row of this file
        spaced = f"{phone[:3]} {phone[3:7]} {phone[7:]}" if phone else ""
        writer.writerow([f"展会客户{i} 有限公司", f"新联系人{i}", spaced, email, REGIONS[i % len(REGIONS)],
                         "2026 trade fair", INDUSTRIES[i % len(INDUSTRIES)], TITLES[i % len(TITLES)]])
    return out.getvalue().encode()


def copy_ceiling(url: str, template: str, name: str, meter) -> tuple[float, object, int]:
    """COPY the leads the import wrote (read back as COPY text) into the leads table of a fresh clone of the
    pool: the same rows into the same indexed table. Seconds, CPU, rows."""
    from shangji_kit.db import libpq_dsn

    with psycopg.connect(libpq_dsn(url)) as conn, conn.cursor() as cur:
        buffer = io.BytesIO()
        with cur.copy("COPY (SELECT * FROM leads WHERE request_id LIKE 'import:%') TO STDOUT") as cp:
            for chunk in cp:
                buffer.write(chunk)
        count = conn.execute("SELECT count(*) FROM leads WHERE request_id LIKE 'import:%'").fetchone()[0]
    target = clone(template, name)
    data = buffer.getvalue()
    with psycopg.connect(libpq_dsn(target)) as conn:
        conn.execute("SELECT 1")
        meter.start()
        started = time.perf_counter()
        with conn.cursor().copy("COPY leads FROM STDIN") as cp:
            cp.write(data)
        conn.commit()
        seconds = time.perf_counter() - started
        usage = meter.stop()
    return seconds, usage, count


def run_import(url: str, data: bytes, args, by_sets: bool, meter) -> tuple[float, object]:
    """One import of ``data`` into the pool at ``url``, printed with its stages."""
    from leads.adapters import event_encoder
    from leads.adapters.unit_of_work import SqlLeadsUnitOfWork
    from leads.service_layer import lead_import
    from shangji_kit import db, table_import
    from shangji_kit.db import libpq_dsn

    with psycopg.connect(libpq_dsn(url)) as conn:
        conn.execute("UPDATE pool_settings SET dedupe_mode = %s", (args.mode,))
    sessions = db.connection_factory(url, pool_size=1)
    uow = SqlLeadsUnitOfWork(sessions, event_encoder.encode, event_encoder.outbox_rows)
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        # The last call of each stage marks its end.
        marks[stage] = time.perf_counter()

    meter.start()
    started = time.perf_counter()
    columns, rows = table_import.read_table(data, "bench.csv")
    marks["reading the CSV"] = time.perf_counter()
    report = lead_import.import_leads(lead_import.ImportLeads(columns=columns, rows=rows, to_pool=True,
                                                              auto_assign=not args.no_assign, file_name="bench.csv"),
                                      None, uow, progress=progress, by_sets=by_sets)
    seconds = time.perf_counter() - started
    usage = meter.stop()
    marks["commit"] = started + seconds
    path = "set-based" if by_sets else "row by row"
    print(f"import of {args.rows} rows, {path} ({args.mode} mode): accepted {report.accepted} "
          f"(flagged {report.flagged}), merged {report.merged}, rejected {report.rejected_rows}, "
          f"assigned {report.assigned}")
    print(f"{'':<40}{'':>10}{'CPU s:':>10}" + cpu_header())
    print(f"{'whole import (' + path + ')':<40}{seconds:>8.2f} s{'':>10}" + cpu_cells(usage))
    before = started
    for stage, seconds_at in sorted(marks.items(), key=lambda m: m[1]):
        print(f"  {stage:<38}{seconds_at - before:>8.2f} s")
        before = seconds_at
    return seconds, usage


def cpu_header() -> str:
    from bench import cpu

    return cpu.cpu_header(["client", "postgres"])


def cpu_cells(usage) -> str:
    from bench import cpu

    # per 1,000 "calls": CPU seconds of the whole run
    return cpu.cpu_cells(usage, 1000, ["client", "postgres"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--mode", choices=["merge", "flag"], default="merge", help="the company's dedupe_mode")
    parser.add_argument("--path", choices=["sets", "rows", "both"], default="sets")
    parser.add_argument("--no-assign", action="store_true", help="leave the imported leads in the pool")
    parser.add_argument("--keep", action="store_true", help="keep the import's database for another look")
    parser.add_argument("--rebuild", action="store_true", help="build the pool again")
    args = parser.parse_args()

    from bench import cpu
    from shangji_kit import db, migrate, settings
    from shangji_kit.testing import servers

    os.environ.setdefault("SHANGJI_PG_DSN", servers.find_postgres())
    os.environ["SHANGJI_DB_PREFIX"] = "benchimp_"
    template = prepare(args.existing, rebuild=args.rebuild)
    data = generate(args.existing, args.rows)
    made: list[str] = []
    try:
        results = []
        for by_sets in {"sets": [True], "rows": [False], "both": [False, True]}[args.path]:
            name = settings.database_name("leads") + ("_sets" if by_sets else "_rows")
            url = clone(template, name)
            made.append(name)
            meter = cpu.CpuMeter({"client": cpu.this_process,
                                  "postgres": cpu.postgres_backends(db.libpq_dsn(url), [name])})
            results.append((url, *run_import(url, data, args, by_sets, meter)))
            db.dispose_all()
        url = results[-1][0]
        name = settings.database_name("leads") + "_copy"
        made.append(name)
        meter = cpu.CpuMeter({"client": cpu.this_process,
                              "postgres": cpu.postgres_backends(db.libpq_dsn(url), [name])})
        copy_seconds, copy_cpu, copied = copy_ceiling(url, template, name, meter)
        print(f"{'COPY of the ' + str(copied) + ' leads it wrote':<40}{copy_seconds:>8.2f} s{'':>10}"
              + cpu_cells(copy_cpu))
        print("  (into the leads table of another clone of the pool: the same rows, indexes and trigger)")
        for _, seconds, usage in results:
            print(f"ratio to the COPY: {seconds / copy_seconds:.1f}x in time, "
                  f"{usage.total / max(copy_cpu.total, 1e-9):.1f}x in CPU")
        print(f"load average during the run (1 min): {os.getloadavg()[0]:.1f}")
        print(f"target: < 5 s on 2 cores (this machine: {os.cpu_count()} cores) and within 3x of the COPY")
        print(cpu.explain(["client", "postgres"]) + "; a 'call' here is 1,000 rows")
    finally:
        db.dispose_all()
        if not args.keep:
            for name in made:
                migrate.drop_database(name)


if __name__ == "__main__":
    main()
