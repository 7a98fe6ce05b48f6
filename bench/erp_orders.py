"""ERP orders benchmark (issue 6): approved sample requests -> confirmed Tryton sales per minute through 4
erp_bridge workers, beside the same number of sales made directly over JSON-RPC in the same run (the ceiling:
what the ERP itself sustains for the same calls), against one multi-process trytond.

Direct: ``--direct-clients`` threads, each with its own JSON-RPC session, run the bridge's own sequence per
order (party upsert, free sale with the cost centre on each line, quote, confirm) through the same adapter.
Bridge: ``--orders`` SampleRequestApproved events are published to the broker at once (a backlog, so the
workers run flat out), each worker taking ``direct-clients / workers`` at a time (the same concurrency as the
direct side); the clock runs from the first publish to the last job confirmed. Duplicates are ERP
sales beyond one per reference (must be 0). Target: bridge within 1.5x of direct. Each side is printed with the
CPU per order in every group of processes (``bench.cpu``): bridge workers, trytond, PostgreSQL, broker, client.

    python -m bench.erp_orders [--orders 100] [--workers 4] [--tryton-processes 4] [--direct-clients 8] [--warmup 24]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from bench import cpu
from bench.__main__ import ROOT, prepare_env

PRODUCTS = {"SMP-A": "TRY-SAMPLE-A", "SMP-B": "TRY-SAMPLE-B"}


def meter_for(server, workers: list) -> cpu.CpuMeter:
    from shangji_kit import settings
    from shangji_kit.db import libpq_dsn

    return cpu.CpuMeter({
        "workers": lambda: cpu.with_descendants(*(p.proc.pid for p in workers if p.proc is not None)),
        "trytond": lambda: cpu.with_descendants(*(c.pid for c in server._children)),
        "postgres": cpu.postgres_backends(libpq_dsn(settings.database_url("erp_bridge")),
                                          [settings.database_name("erp_bridge"), server.database]),
        "rabbitmq": lambda: cpu.named("beam.smp"),
        "client": cpu.this_process,
    })


GROUPS = ["workers", "trytond", "postgres", "rabbitmq", "client"]


def direct_run(erp_settings: dict, orders: int, clients: int) -> tuple[float, list[str]]:
    """``orders`` free sales made straight over JSON-RPC by ``clients`` threads: (seconds, references)."""
    from erp_bridge.adapters.tryton import TrytonErp
    from erp_bridge.domain.model import Customer, OrderLine

    references = [f"bench-direct/{uuid.uuid4()}" for _ in range(orders)]
    queue = list(references)
    lock = threading.Lock()
    errors: list[str] = []

    def worker() -> None:
        erp = TrytonErp(erp_settings["SHANGJI_ERP_URL"], erp_settings["SHANGJI_ERP_DATABASE"],
                        erp_settings["SHANGJI_ERP_USER"], erp_settings["SHANGJI_ERP_PASSWORD"], timeout=60)
        while True:
            with lock:
                if not queue:
                    return
                reference = queue.pop()
            try:
                customer = Customer(key="k", name="压测客户", party_code=f"BENCH-{uuid.uuid4()}", recipient="王工",
                                    address="上海市浦东新区张江路 100 号")
                party = erp.upsert_customer(customer)
                lines = (OrderLine("TRY-SAMPLE-A", Decimal(3), Decimal(0)),
                         OrderLine("TRY-SAMPLE-B", Decimal(1), Decimal(0)))
                order = erp.create_free_order(reference, party, customer, lines,
                                              f"departments/bench-{reference[-1]}", "CNY")
                erp.confirm(erp.quote(order))
            except Exception as exc:  # counted and shown: the figure must say how many failed
                errors.append(repr(exc))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        print(f"direct: {len(errors)} errors, first: {errors[0]}")
    return elapsed, references


def approvals(orders: int) -> list[dict]:
    from google.protobuf import json_format

    from shangji.samples.v1 import events_pb2, samples_pb2
    from shangji_kit import envelope

    bodies = []
    departments = [str(uuid.uuid4()) for _ in range(8)]
    for i in range(orders):
        request_id = str(uuid.uuid4())
        request = samples_pb2.SampleRequest(
            name=f"sampleRequests/{request_id}", id=request_id, customer_company=f"压测客户 {i}",
            customer=f"customers/{uuid.uuid4()}", cost_centre=f"departments/{departments[i % 8]}",
            kind=samples_pb2.SampleRequest.STANDARD, recipient_name="王工", address="上海市浦东新区张江路 100 号",
            lines=[samples_pb2.SampleLine(product="SMP-A", quantity=3), samples_pb2.SampleLine(product="SMP-B",
                                                                                                 quantity=1)])
        message = events_pb2.SampleRequestApproved(request=request, approver=f"users/{uuid.uuid4()}")
        message.approve_time.FromDatetime(datetime.now(UTC))
        bodies.append(envelope.build(
            service="samples", id=str(uuid.uuid4()), type=message.DESCRIPTOR.full_name, subject=request.name,
            time=datetime.now(UTC), dataschema=f"proto:{message.DESCRIPTOR.full_name}",
            data=json_format.MessageToDict(message), correlation_id=None))
    return bodies


def bridge_run(erp_env: dict, orders: int, workers: int, in_flight: int,
               log_dir: Path, server=None) -> tuple[float, list[str], int, cpu.Usage | None]:
    """(seconds, references, confirmed jobs): ``orders`` approvals through ``workers`` bridge processes."""
    from shangji_kit import settings
    from shangji_kit.publisher import EventPublisher
    from shangji_kit.testing.processes import ServiceProcess

    engine = sa.create_engine(settings.database_url("erp_bridge"), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for ours, theirs in PRODUCTS.items():
            conn.execute(sa.text("INSERT INTO product_mappings VALUES (:p, :e, now()) ON CONFLICT DO NOTHING"),
                         {"p": ours, "e": theirs})
    # prefetch bounds each worker's orders in flight: workers x prefetch = the direct side's clients, so both
    # sides offer the ERP the same concurrency (and stay inside PostgreSQL's connection limit)
    env = dict(os.environ, **erp_env, SHANGJI_ERP_TIMEOUT_SECONDS="60",
               SHANGJI_CONSUMER_PREFETCH=str(max(1, in_flight // workers)))
    processes = []
    for i in range(workers):
        (log_dir / f"w{i}").mkdir(parents=True, exist_ok=True)
        processes.append(ServiceProcess("erp_bridge", "worker", env, log_dir / f"w{i}").start())
    try:
        for p in processes:
            p.wait_started(60)
        bodies = approvals(orders)
        publisher = EventPublisher(os.environ["SHANGJI_AMQP_URI"], "samples")
        meter = meter_for(server, processes) if server is not None else None
        if meter is not None:
            meter.start()
        started = time.perf_counter()
        for body in bodies:
            publisher.publish(body)
        publisher.close()
        deadline = time.monotonic() + 30 + orders * 2
        confirmed = 0
        # one connection for the whole wait: the machine's PostgreSQL is shared and may be at its connection limit
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                confirmed = conn.execute(sa.text("SELECT count(*) FROM jobs WHERE state = 'confirmed'")).scalar_one()
                conn.rollback()
                if confirmed >= orders:
                    break
                time.sleep(0.1)
        elapsed = time.perf_counter() - started
        usage = meter.stop() if meter is not None else None
    finally:
        for p in processes:
            try:
                p.terminate(30)
            except Exception:  # stop the others anyway
                p.kill()
        engine.dispose()
    return elapsed, [b["subject"] for b in bodies], confirmed, usage


def duplicates(erp_env: dict, references: list[str]) -> tuple[int, int]:
    """(ERP sales for these references, sales beyond one per reference)."""
    from erp_bridge.adapters.tryton import TrytonErp

    erp = TrytonErp(erp_env["SHANGJI_ERP_URL"], erp_env["SHANGJI_ERP_DATABASE"], erp_env["SHANGJI_ERP_USER"],
                    erp_env["SHANGJI_ERP_PASSWORD"], timeout=120)
    found = erp.call("model.sale.sale.search_read", [("reference", "in", references)], 0, None, None,
                     ["reference", "state"])
    return len(found), len(found) - len({f["reference"] for f in found})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--tryton-processes", type=int, default=4)
    parser.add_argument("--direct-clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=24, help="untimed direct orders before the timed runs")
    args = parser.parse_args()

    prepare_env()
    from shangji_kit import settings
    from shangji_kit.testing import tryton

    database = settings.database_name("tryton")
    tryton.create_database(database)
    log_dir = ROOT / ".run" / "bench-logs" / "erp_orders"
    log_dir.mkdir(parents=True, exist_ok=True)
    server = tryton.TrytonServer(database, processes=args.tryton_processes, log_path=log_dir / "trytond.log")
    print(f"bench erp_orders: {os.cpu_count()} cores; trytond ({args.tryton_processes} processes), broker, "
          "database, bridge workers and clients share this machine")
    server.start()
    try:
        erp_env = server.environment()
        # untimed: every trytond process loads its caches first, so neither side pays the cold start
        direct_run(erp_env, args.warmup, args.direct_clients)
        meter = meter_for(server, [])
        meter.start()
        direct_s, direct_refs = direct_run(erp_env, args.orders, args.direct_clients)
        direct_cpu = meter.stop()
        print(f"direct: {args.orders} orders in {direct_s:.1f} s", flush=True)
        bridge_s, bridge_refs, confirmed, bridge_cpu = bridge_run(erp_env, args.orders, args.workers,
                                                                  args.direct_clients, log_dir, server)
        direct_sales, direct_dupes = duplicates(erp_env, direct_refs)
        bridge_sales, bridge_dupes = duplicates(erp_env, bridge_refs)
        direct_rate = direct_sales / direct_s * 60
        bridge_rate = confirmed / bridge_s * 60
        print(f"\n{args.orders} free sales (2 lines, cost centre on each, quoted and confirmed) per side")
        print(f"{'what':<44}{'orders':>8}{'seconds':>9}{'per min':>9}" + cpu.cpu_header(GROUPS))
        print(f"{f'direct JSON-RPC, {args.direct_clients} clients (ceiling)':<44}{direct_sales:>8}{direct_s:>9.1f}"
              f"{direct_rate:>9.0f}" + cpu.cpu_cells(direct_cpu, direct_sales, GROUPS))
        print(f"{f'approvals -> bridge, {args.workers} workers':<44}{confirmed:>8}{bridge_s:>9.1f}{bridge_rate:>9.0f}"
              + cpu.cpu_cells(bridge_cpu, confirmed, GROUPS))
        print(cpu.explain(GROUPS) + " (CPU per order, ms)")
        print(f"direct / bridge: {direct_rate / bridge_rate:.2f}x (target <= 1.5x)")
        print(f"duplicates in the ERP: bridge {bridge_dupes} ({bridge_sales} sales for {len(bridge_refs)} "
              f"approvals), direct {direct_dupes} (target 0)")
    finally:
        server.stop()
        from shangji_kit import db, migrate

        db.dispose_all()
        tryton.drop_database(database)
        for service in settings.SERVICES:
            migrate.drop_database(settings.database_name(service))


if __name__ == "__main__":
    main()
