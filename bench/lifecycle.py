"""Lifecycle benchmark (issue 4): AdvanceStage with gates evaluated, and GetOpportunity, through the real
opportunities front at 16 client threads, against the plain grpcio echo ceiling in the same run.

Each client thread registers its own deal (RegisterOpportunity) whose fields and checklist satisfy the
software pipeline's first gate (发现机会: expected close date, customer, contact, checklist need_confirmed),
then alternates forward (discover -> validate, the gate evaluated) and back with a reason (validate ->
discover), re-reading the etag from each response, so every call is a real, successful stage move.
Each figure is printed with the CPU per call in every process (``bench.cpu``).
Targets (issue 12): AdvanceStage <= 2.0 ms CPU per call over all processes, >= 800 calls/s at 16 clients
(>= 15% of echo), p99 < 50 ms.

    python -m bench.lifecycle [--seconds 5] [--clients 16]
"""

from __future__ import annotations

import argparse
import os
import uuid
from datetime import UTC, datetime, timedelta

import grpc

from bench import cpu, load
from bench.__main__ import ROOT, SERVICES, echo_ceiling, known_user, prepare_env


def _register(stub, pb2, md, i: int):
    from google.protobuf import field_mask_pb2

    close = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()
    deal = stub.RegisterOpportunity(pb2.RegisterOpportunityRequest(opportunity=pb2.Opportunity(
        customer_company=f"压测客户 {i}-{uuid.uuid4().hex[:8]}", product_lines=["ERP"], contact_name="赵工",
        contact_phone="13800138000", amount="100000.00", currency="CNY", expected_close_date=close,
        region="华东", source="bench")), metadata=md, timeout=10)
    return stub.UpdateOpportunity(pb2.UpdateOpportunityRequest(
        opportunity=pb2.Opportunity(name=deal.name, checklist=["need_confirmed"]),
        update_mask=field_mask_pb2.FieldMask(paths=["checklist"]), etag=deal.etag), metadata=md, timeout=10)


def advance_load(target: str, token: str, clients: int, seconds: float,
                 meter: cpu.CpuMeter | None = None) -> load.Result:
    from shangji.opportunities.v1 import opportunities_pb2 as pb2
    from shangji.opportunities.v1 import opportunities_pb2_grpc

    md = [("authorization", f"Bearer {token}")]

    def make_call(i):
        stub = opportunities_pb2_grpc.OpportunitiesServiceStub(load.channel(target))
        deal = _register(stub, pb2, md, i)
        state = {"etag": deal.etag, "forward": True}

        def call():
            if state["forward"]:
                request = pb2.AdvanceStageRequest(name=deal.name, etag=state["etag"])
            else:
                request = pb2.AdvanceStageRequest(name=deal.name, etag=state["etag"], target_stage="discover",
                                                  reason="bench: back to discovery")
            try:
                moved = stub.AdvanceStage(request, metadata=md, timeout=5)
            except grpc.RpcError:
                # Counted as an error by load.run; re-read the deal so the next call starts from the truth.
                current = stub.GetOpportunity(pb2.GetOpportunityRequest(name=deal.name), metadata=md, timeout=5)
                state["etag"], state["forward"] = current.etag, current.stage == "discover"
                raise
            state["etag"] = moved.etag
            state["forward"] = not state["forward"]

        return call

    return load.run("AdvanceStage", clients, seconds, make_call, meter=meter)


def get_load(target: str, token: str, clients: int, seconds: float,
             meter: cpu.CpuMeter | None = None) -> load.Result:
    from shangji.opportunities.v1 import opportunities_pb2 as pb2
    from shangji.opportunities.v1 import opportunities_pb2_grpc

    md = [("authorization", f"Bearer {token}")]

    def make_call(i):
        stub = opportunities_pb2_grpc.OpportunitiesServiceStub(load.channel(target))
        name = _register(stub, pb2, md, 1000 + i).name
        return lambda: stub.GetOpportunity(pb2.GetOpportunityRequest(name=name), metadata=md, timeout=5)

    return load.run("GetOpportunity", clients, seconds, make_call, meter=meter)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()

    prepare_env()
    from shangji.opportunities.v1 import opportunities_pb2 as pb2
    from shangji_kit import settings
    from shangji_kit.testing.processes import Suite

    print(f"bench lifecycle: {os.cpu_count()} cores; broker, database, services and clients share this machine")
    suite = Suite(SERVICES, dict(os.environ), ROOT / ".run" / "bench-logs").start()
    try:
        # A sales rep: they see (and may change) their own deals.
        token = known_user(str(uuid.uuid4()))
        target = suite.target("opportunities")
        payload = pb2.AdvanceStageRequest(name=f"opportunities/{uuid.uuid4()}", etag="7",
                                          target_stage="discover", reason="bench").SerializeToString()
        meter = cpu.for_suite(suite, "opportunities", [settings.database_name(x) for x in settings.SERVICES])
        echo = echo_ceiling(args.clients, args.seconds, payload)
        advance = advance_load(target, token, args.clients, args.seconds, meter)
        get = get_load(target, token, args.clients, args.seconds, meter)

        print(f"\nAdvanceStage (gates evaluated) and GetOpportunity vs plain grpcio echo, {args.clients} client "
              "threads (closed loop, calls/s, ms, CPU ms per call)")
        load.print_table([advance, get, echo], cpu.GROUPS, ceiling=echo)
        print(cpu.explain(cpu.GROUPS))
        print(f"AdvanceStage: {advance.rate:.0f}/s = {advance.rate / echo.rate:.0%} of echo (target >= 800/s, >= 15%), "
              f"p99 {advance.p99:.2f} ms (target < 50 ms), CPU {advance.cpu.total * 1000 / max(advance.calls, 1):.2f} "
              "ms per call (target <= 2.0)")
        print(f"GetOpportunity (own deals, small database): {get.rate / echo.rate:.0%} of echo, p99 {get.p99:.2f} ms")
    finally:
        suite.stop()
        from shangji_kit import db, migrate

        db.dispose_all()
        for service in settings.SERVICES:
            migrate.drop_database(settings.database_name(service))


if __name__ == "__main__":
    main()
