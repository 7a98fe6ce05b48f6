"""One connection budget for the whole suite (shangji_kit.db): while bursts of calls hit every front,
each process holds at most its share and the suite at most SHANGJI_DB_CONNECTION_BUDGET; no call fails
for want of a connection. The table of connections per process is printed (``pytest -s``)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc

from shangji.leads.v1 import leads_pb2
from shangji.notify.v1 import notify_pb2
from shangji.opportunities.v1 import opportunities_pb2 as opp
from shangji.teams.v1 import teams_pb2
from shangji_kit import db, settings


def _sample(prefix: str, pids: set[int], stop: threading.Event, peaks: dict[str, int], totals: list[int]) -> None:
    while not stop.is_set():
        seen = db.connections_by_process(settings.with_database(settings.server_dsn(), "postgres"), prefix)
        # The suite's running processes only: not this test process (in-process fronts of other tests), nor
        # a worker an earlier test restarted, whose backends PostgreSQL may not have reaped yet.
        suite = {who: n for who, n in seen.items()
                 if who.startswith("shangji:") and int(who.rsplit(":", 1)[1]) in pids}
        for who, n in suite.items():
            peaks[who] = max(peaks.get(who, 0), n)
        totals.append(sum(suite.values()))
        stop.wait(0.05)


def test_bursts_on_every_front_stay_within_each_process_share(suite, channels, new_rep, shangji_env):
    reps = [new_rep() for _ in range(4)]
    peaks: dict[str, int] = {}
    totals: list[int] = []
    stop = threading.Event()
    pids = {p.proc.pid for p in suite.processes.values() if p.proc and p.proc.poll() is None}
    sampler = threading.Thread(target=_sample, args=(shangji_env["prefix"], pids, stop, peaks, totals))
    sampler.start()

    def burst(i: int):
        rep = reps[i % len(reps)]
        rep.leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
            company=f"华东精密 {uuid.uuid4().hex[:6]}", contact_name="王伟", phone=f"139{i:08d}")))
        rep.opportunities.RegisterOpportunity(opp.RegisterOpportunityRequest(opportunity=opp.Opportunity(
            customer_company=f"客户 {uuid.uuid4().hex[:6]}", product_lines=["cnc"])))
        rep.teams.ListUsers(teams_pb2.ListUsersRequest(page_size=5))
        rep.notify.ListNotifications(notify_pb2.ListNotificationsRequest(page_size=5))
        return True

    failures: list[grpc.RpcError] = []
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            for outcome in [pool.submit(burst, i) for i in range(60)]:
                try:
                    outcome.result()
                except grpc.RpcError as exc:
                    failures.append(exc)
    finally:
        stop.set()
        sampler.join()
    print("\nconnections held at most, per process:")
    for who in sorted(peaks):
        print(f"  {who:40s} {peaks[who]}")
    print(f"  suite total at most: {max(totals)} (budget {db.budget()})")
    assert [f.code() for f in failures] == []
    front_limit = db.pool_limit(db.FRONT, 1) + db.CACHE_CONNECTIONS
    worker_limit = db.pool_limit(db.WORKER) + db.RELAY_CONNECTIONS
    fronts = {who: n for who, n in peaks.items() if ":front:" in who}
    workers = {who: n for who, n in peaks.items() if ":worker:" in who}
    assert fronts and workers
    assert all(n <= front_limit for n in fronts.values()), (fronts, front_limit)
    assert all(n <= worker_limit for n in workers.values()), (workers, worker_limit)
    assert max(totals) <= db.budget()
