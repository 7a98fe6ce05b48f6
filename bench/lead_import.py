"""Lead import benchmark (issue 5): 100,000 rows into a pool that already holds 1,000,000 leads.

A fresh leads database (prefix ``benchimp_``) is filled with 1,000,000 leads by COPY (held by 1,000
reps or in the pool, each with its de-duplication keys); the 1,000 reps are active sales reps in the
organisation projection, each with a territory (a region) and half with an expertise (an industry),
and the company has scoring rules (industry, title, region) with MQL/SQL thresholds. Then a generated
CSV of 100,000 rows (~4% duplicates of existing leads by phone, ~1% duplicates of earlier rows by
email) is imported into the pool with ``auto_assign`` through the service's import use case, timed
from the file's bytes to the commit: reading the CSV, validation and normalisation, de-duplication
against the database and the file, scoring, assignment by the rules (territory, expertise,
workload, round robin), COPY of the new leads, merge rows, and the outbox events (LeadCreated —
carrying the score, qualification and assignee — or LeadMerged per row, and the summary). In the
same run, a plain PostgreSQL COPY of the same 100,000 rows into a scratch table of text columns.
Both are printed with the CPU they cost in this process and in the PostgreSQL backends (``bench.cpu``).
Target (issue 12): the whole import < 5 s on 2 cores and within 3x of the COPY.

    python -m bench.lead_import [--existing 1000000] [--rows 100000] [--mode merge|flag] [--no-assign] [--keep]
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


def prepare(existing: int, seed: int = 11) -> str:
    from leads.domain.dedupe import company_key, region_key
    from shangji_kit import settings
    from shangji_kit.db import libpq_dsn
    from shangji_kit.testing import databases, servers

    os.environ.setdefault("SHANGJI_PG_DSN", servers.find_postgres())
    os.environ["SHANGJI_DB_PREFIX"] = "benchimp_"
    url = databases.create_from_template("leads", settings.database_name("leads"))
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
        conn.execute("ANALYZE")
    print(f"bench lead_import: {existing} leads loaded with COPY in {time.perf_counter() - started:.1f} s")
    return url


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


def plain_copy(url: str, data: bytes) -> float:
    from shangji_kit.db import libpq_dsn

    with psycopg.connect(libpq_dsn(url)) as conn:
        conn.execute("CREATE TABLE copy_scratch (" + ", ".join(f"{c} text" for c in COLUMNS) + ")")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy("COPY copy_scratch FROM STDIN WITH (FORMAT csv, HEADER true)") as cp:
            cp.write(data)
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--mode", choices=["merge", "flag"], default="merge", help="the company's dedupe_mode")
    parser.add_argument("--no-assign", action="store_true", help="leave the imported leads in the pool")
    parser.add_argument("--keep", action="store_true", help="keep the database for another look")
    args = parser.parse_args()

    url = prepare(args.existing)
    data = generate(args.existing, args.rows)
    from leads import bootstrap
    from leads.service_layer import lead_import
    from shangji_kit import db, migrate, settings, table_import

    try:
        with psycopg.connect(__import__("shangji_kit.db", fromlist=["libpq_dsn"]).libpq_dsn(url)) as conn:
            conn.execute("UPDATE pool_settings SET dedupe_mode = %s", (args.mode,))
        uow = bootstrap.uow_factory(settings.Settings.for_service("leads"))
        from bench import cpu

        groups = ["client", "postgres"]
        meter = cpu.CpuMeter({"client": cpu.this_process,
                              "postgres": cpu.postgres_backends(db.libpq_dsn(url), [settings.database_name("leads")])})
        marks: dict[str, float] = {}

        def progress(stage: str, done: int, total: int) -> None:
            # The last call of each stage marks its end: reading+checking, then deciding, then writing.
            marks[stage] = time.perf_counter()
            marks.setdefault(f"{stage} first", marks[stage])

        meter.start()
        started = time.perf_counter()
        columns, rows = table_import.read_table(data, "bench.csv")
        read = time.perf_counter()
        report = lead_import.import_leads(lead_import.ImportLeads(columns=columns, rows=rows, to_pool=True,
                                                                  auto_assign=not args.no_assign,
                                                                  file_name="bench.csv"),
                                          None, uow(), progress=progress)
        import_seconds = time.perf_counter() - started
        import_cpu = meter.stop()
        meter.start()
        copy_seconds = plain_copy(url, data)
        copy_cpu = meter.stop()
        print(f"import of {args.rows} rows ({args.mode} mode): accepted {report.accepted} "
              f"(flagged {report.flagged}), merged {report.merged}, rejected {report.rejected_rows}, "
              f"assigned {report.assigned}")
        print(f"{'':<36}{'':>10}{'CPU s:':>10}" + cpu.cpu_header(groups))
        print(f"{'whole import (service use case)':<36}{import_seconds:>8.2f} s{'':>10}"
              + cpu.cpu_cells(import_cpu, 1000, groups))
        print(f"{'plain COPY into a scratch table':<36}{copy_seconds:>8.2f} s{'':>10}"
              + cpu.cpu_cells(copy_cpu, 1000, groups))
        print(f"{'ratio':<36}{import_seconds / copy_seconds:>8.1f}x")
        end = started + import_seconds
        for label, seconds in (("  reading the CSV", read - started),
                               ("  validating, normalising", marks["checking"] - read),
                               ("  reps read, first batch decided", marks["deciding first"] - marks["checking"]),
                               ("  other batches decided", marks["deciding"] - marks["deciding first"]),
                               ("  COPY of the new leads", marks["writing leads"] - marks["deciding"]),
                               ("  merged leads, merge rows", marks["writing merges"] - marks["writing leads"]),
                               ("  outbox events (JSON + COPY)", marks["writing events"] - marks["writing merges"]),
                               ("  commit", end - marks["writing events"])):
            print(f"{label:<36}{seconds:>8.2f} s")
        print(f"load average during the run (1 min): {os.getloadavg()[0]:.1f}")
        print(f"target: < 5 s on 2 cores (this machine: {os.cpu_count()} cores) and within 3x of the COPY")
    finally:
        db.dispose_all()
        if not args.keep:
            migrate.drop_database(settings.database_name("leads"))


if __name__ == "__main__":
    main()
