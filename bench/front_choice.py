"""Which front (issue 12): CreateLead at 16 client threads on the leads front in several shapes, back to back.

Shapes: the thread pool of today (16 threads, one process), fewer threads, several processes sharing the
port (SO_REUSEPORT; each client thread has its own connection, so the kernel spreads them), each started
fresh and run ``--rounds`` times in turn, so a burst of load from elsewhere on the machine hits every
shape alike. In the same run, the echo ceiling on a thread pool (16 and 4 threads) and on ``grpc.aio``:
what the server model alone costs per call. CPU per call (``bench.cpu``) is the figure to compare; calls/s
swings with the machine's load.

    python -m bench.front_choice [--seconds 4] [--rounds 3] [--shapes 16x1,4x1,8x2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import uuid

from bench import cpu, load
from bench.__main__ import ROOT, create_lead_load, echo_ceiling, known_user, prepare_env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--shapes", default="16x1,4x1,8x2", help="THREADSxPROCESSES, comma separated")
    args = parser.parse_args()

    prepare_env()
    from shangji.leads.v1 import leads_pb2
    from shangji_kit import db, migrate, settings
    from shangji_kit.testing.processes import Suite

    shapes = [tuple(int(x) for x in s.split("x")) for s in args.shapes.split(",")]
    payload = leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(company="压测客户", contact_name="赵工",
                                                              phone="13800138000")).SerializeToString()
    token = known_user(str(uuid.uuid4()))
    runs: dict[str, list[load.Result]] = {}
    print(f"bench front_choice: {os.cpu_count()} cores, {args.rounds} rounds, {args.clients} client threads")
    try:
        for _ in range(args.rounds):
            for threads, processes in shapes:
                env = dict(os.environ, SHANGJI_GRPC_THREADS=str(threads), SHANGJI_GRPC_PROCESSES=str(processes))
                suite = Suite(("leads",), env, ROOT / ".run" / "bench-logs" / "front_choice").start()
                try:
                    meter = cpu.for_suite(suite, "leads", [settings.database_name("leads")])
                    r = create_lead_load(suite.target("leads"), token, args.clients, args.seconds, meter)
                finally:
                    suite.stop()
                r.label = f"{threads} thr x {processes} proc"
                runs.setdefault(r.label, []).append(r)
            for label, kwargs in (("echo 16 thr", {"threads": 16}), ("echo 4 thr", {"threads": 4}),
                                  ("echo aio", {"aio": True})):
                runs.setdefault(label, []).append(echo_ceiling(args.clients, args.seconds, payload, label=label,
                                                               **kwargs))
        print("\nevery run (calls/s, ms, CPU ms per call)")
        load.print_table([r for rs in runs.values() for r in rs], cpu.GROUPS)
        print("\nmedian over rounds (CPU ms per call: front, all processes)")
        print(f"{'shape':<18}{'calls/s':>9}{'p99':>8}{'front':>8}{'total':>8}")
        for label, rs in runs.items():
            print(f"{label:<18}{statistics.median(r.rate for r in rs):>9.0f}"
                  f"{statistics.median(r.p99 for r in rs):>8.1f}"
                  f"{statistics.median(r.cpu.seconds['front'] * 1000 / max(r.calls, 1) for r in rs):>8.2f}"
                  f"{statistics.median(r.cpu.total * 1000 / max(r.calls, 1) for r in rs):>8.2f}")
        print(cpu.explain(cpu.GROUPS))
    finally:
        db.dispose_all()
        for service in settings.SERVICES:
            migrate.drop_database(settings.database_name(service))


if __name__ == "__main__":
    main()
