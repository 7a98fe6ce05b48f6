"""Lead import benchmark (issue 5): 100,000 rows into a pool that already holds 1,000,000 leads.

A fresh leads database (prefix ``benchimp_``) is filled with 1,000,000 leads by COPY (held by 1,000
reps or in the pool, each with its de-duplication keys). Then a generated CSV of 100,000 rows (~4%
duplicates of existing leads by phone, ~1% duplicates of earlier rows by email) is imported through
the service's import use case, timed from the file's bytes to the commit: reading the CSV,
validation and normalisation, de-duplication against the database and the file, COPY of the new
leads, merge rows, and one LeadCreated (or LeadMerged) outbox event per row plus the summary. In
the same run, a plain PostgreSQL COPY of the same 100,000 rows into a scratch table of text columns.
Target: the whole import < 10 s on 2 cores and within 15x of the COPY.

    python -m bench.lead_import [--existing 1000000] [--rows 100000] [--mode merge|flag] [--keep]
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

REGIONS = ["北京", "上海", "天津", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
           "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
           "内蒙古", "广西", "西藏", "宁夏", "新疆"]
INDUSTRIES = ["制造", "零售", "物流", "医疗", "教育", "金融", "能源", "软件"]
COLUMNS = ["company", "contact_name", "phone", "email", "region", "source", "industry"]


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
        writer.writerow([f"展会客户{i} 有限公司", f"新联系人{i}", spaced,
                         email, REGIONS[i % len(REGIONS)], "2026 trade fair", INDUSTRIES[i % len(INDUSTRIES)]])
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
    parser.add_argument("--keep", action="store_true", help="keep the database for another look")
    args = parser.parse_args()

    url = prepare(args.existing)
    data = generate(args.existing, args.rows)
    from leads import bootstrap
    from leads.adapters import tables
    from leads.service_layer import services
    from shangji_kit import db, migrate, settings

    try:
        with psycopg.connect(__import__("shangji_kit.db", fromlist=["libpq_dsn"]).libpq_dsn(url)) as conn:
            conn.execute("UPDATE pool_settings SET dedupe_mode = %s", (args.mode,))
        uow = bootstrap.uow_factory(settings.Settings.for_service("leads"))
        started = time.perf_counter()
        columns, rows = tables.read_table(data, "bench.csv")
        report = services.import_leads(services.ImportLeads(columns=columns, rows=rows, to_pool=True,
                                                            file_name="bench.csv"), None, uow())
        import_seconds = time.perf_counter() - started
        copy_seconds = plain_copy(url, data)
        print(f"import of {args.rows} rows ({args.mode} mode): accepted {report.accepted} "
              f"(flagged {report.flagged}), merged {report.merged}, rejected {report.rejected_rows}")
        print(f"{'whole import (service use case)':<36}{import_seconds:>8.2f} s")
        print(f"{'plain COPY into a scratch table':<36}{copy_seconds:>8.2f} s")
        print(f"{'ratio':<36}{import_seconds / copy_seconds:>8.1f}x")
        print(f"target: < 10 s on 2 cores (this machine: {os.cpu_count()} cores) and within 15x of the COPY")
    finally:
        db.dispose_all()
        if not args.keep:
            migrate.drop_database(settings.database_name("leads"))


if __name__ == "__main__":
    main()
