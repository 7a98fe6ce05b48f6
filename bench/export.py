"""Exports (issue 13): ExportOpportunities of a large list through a real opportunities front, as CSV and as XLSX.

The database is loaded like ``bench.visibility`` (a department tree, reps, deals by COPY); a sales_ops user exports
every deal, then a department head's share (the visibility rule in SQL). For each export: rows/s, bytes, the
CPU each row cost in each group of processes (front, PostgreSQL backends, client; ``bench.cpu``) and the front's
peak resident memory, which stays flat whatever the row count (keyset batches, XlsxWriter's constant_memory mode).
The yardstick of the same run: PostgreSQL's own ``COPY (SELECT ...) TO STDOUT WITH CSV`` of the same deals.

    python -m bench.export [--opportunities 300000] [--users 10000] [--formats csv,xlsx]
"""

from __future__ import annotations

import argparse
import time
import uuid

import psycopg

from bench import cpu


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def copy_ceiling(dsn: str, database: str) -> tuple[int, float, cpu.Usage, int]:
    """Rows, seconds, CPU and bytes of PostgreSQL writing the same deals as CSV itself (no Python, no gRPC)."""
    meter = cpu.CpuMeter({"postgres": cpu.postgres_backends(dsn, [database]), "client": cpu.this_process})
    size = rows = 0
    with psycopg.connect(dsn) as conn:
        meter.start()
        started = time.perf_counter()
        with conn.cursor().copy("COPY (SELECT o.*, s.display_name FROM opportunities o JOIN pipeline_stages s "
                                "ON s.pipeline_id = o.pipeline_id AND s.version = o.pipeline_version "
                                "AND s.key = o.stage_key ORDER BY o.create_time DESC, o.id) TO STDOUT WITH CSV") as cp:
            for block in cp:
                size += len(block)
                rows += bytes(block).count(b"\n")
        seconds = time.perf_counter() - started
        usage = meter.stop()
    return rows, seconds, usage, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=300_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database for another look")
    args = parser.parse_args()

    from bench.visibility import prepare, start_front

    setup = prepare(args.opportunities, args.users, prefix="benchexp_")
    from shangji.opportunities.v1 import opportunities_pb2 as pb
    from shangji.opportunities.v1 import opportunities_pb2_grpc
    from shangji_kit import migrate, settings
    from shangji_kit.auth import mint_dev_token
    from shangji_kit.db import libpq_dsn

    dsn = libpq_dsn(setup["url"])
    ops = str(uuid.uuid4())
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO org_users (user_id, roles, active, update_time) VALUES (%s, '{sales_ops}', true, "
                     "now())", (ops,))
    front, target = start_front("export")
    groups = ["front", "postgres", "client"]
    meter = cpu.CpuMeter({"front": lambda: cpu.with_descendants(front.proc.pid),
                          "postgres": cpu.postgres_backends(dsn, [settings.database_name("opportunities")]),
                          "client": cpu.this_process})
    import grpc

    channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 8 << 20)])
    stub = opportunities_pb2_grpc.OpportunitiesServiceStub(channel)
    formats = {"csv": pb.EXPORT_FORMAT_CSV, "xlsx": pb.EXPORT_FORMAT_XLSX}
    head = next(iter(setup["managers"].items()))
    print(f"bench export: {args.opportunities} opportunities, {setup['users']} users "
          f"(loaded with COPY in {setup['load_seconds']:.1f} s); ExportOpportunities through one front")
    print(f"{'export':<28}{'rows':>9}{'MB':>8}{'s':>8}{'rows/s':>9}{'front MB':>10}  "
          f"CPU µs per row: {cpu.cpu_header(groups)}")
    try:
        for who, user in (("sales ops, every deal", ops), (f"{head[0]}, their share", head[1])):
            md = [("authorization", f"Bearer {mint_dev_token(user)}")]
            for name in args.formats.split(","):
                meter.start()
                started = time.perf_counter()
                size = rows = chunks = 0
                for chunk in stub.ExportOpportunities(pb.ExportOpportunitiesRequest(format=formats[name]),
                                                      metadata=md, timeout=3600):
                    size += len(chunk.data)
                    rows = chunk.rows_written
                    chunks += 1
                seconds = time.perf_counter() - started
                usage = meter.stop()
                per_row = {g: s * 1e6 / max(rows, 1) for g, s in usage.seconds.items()}
                cells = "".join(f"{per_row.get(g, 0.0):>10.1f}" for g in groups)
                print(f"{name + ', ' + who:<28}{rows:>9}{size / 1e6:>8.1f}{seconds:>8.1f}{rows / seconds:>9.0f}"
                      f"{peak_rss_mb(front.proc.pid):>10.0f}  {'':>16}{cells}{usage.total * 1e6 / max(rows, 1):>10.1f}")
        rows, seconds, usage, size = copy_ceiling(dsn, settings.database_name("opportunities"))
        per_row = {g: s * 1e6 / max(rows, 1) for g, s in usage.seconds.items()}
        print(f"{'COPY ... TO STDOUT CSV':<28}{rows:>9}{size / 1e6:>8.1f}{seconds:>8.1f}{rows / seconds:>9.0f}"
              f"{'':>10}  {'':>16}{'':>10}{per_row['postgres']:>10.1f}{per_row['client']:>10.1f}"
              f"{usage.total * 1e6 / max(rows, 1):>10.1f}")
        print("front MB: the front's peak resident memory so far (VmHWM): flat from one export to a larger one means "
              "memory does not grow with the rows")
        print(cpu.explain(groups).replace("per call", "per row").replace("ms of CPU", "µs of CPU"))
    finally:
        channel.close()
        front.terminate(30)
        from shangji_kit import db

        db.dispose_all()
        if not args.keep:
            migrate.drop_database(settings.database_name("opportunities"))


if __name__ == "__main__":
    main()
