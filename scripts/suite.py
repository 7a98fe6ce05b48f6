"""Start, stop and show the whole suite: a gRPC front and a nameko worker per service.

Processes run detached; their pids and logs live in .run/ (logs: .run/logs/<service>.<role>.log).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shangji_kit import settings

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / ".run"
LOGS = RUN / "logs"

WORKER_CLASSES = {
    "teams": "teams.entrypoints.worker:TeamsWorker",
    "leads": "leads.entrypoints.worker:LeadsWorker",
    "opportunities": "opportunities.entrypoints.worker:OpportunitiesWorker",
    "samples": "samples.entrypoints.worker:SamplesWorker",
    "notify": "notify.entrypoints.worker:NotifyWorker",
    "erp_bridge": "erp_bridge.entrypoints.worker:ErpBridgeWorker",
}


def commands(service: str) -> dict[str, list[str]]:
    return {
        "front": [sys.executable, "-m", f"{service}.entrypoints.grpc_api"],
        "worker": [sys.executable, "-m", "shangji_kit.worker_main", service, WORKER_CLASSES[service]],
    }


def _pidfile(service: str, role: str) -> Path:
    return RUN / f"{service}.{role}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _pid(service: str, role: str) -> int | None:
    path = _pidfile(service, role)
    if not path.exists():
        return None
    pid = int(path.read_text())
    return pid if _alive(pid) else None


def health(service: str, timeout: float = 1.0) -> str:
    try:
        with grpc.insecure_channel(settings.grpc_target(service)) as channel:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
            return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
    except grpc.RpcError as exc:
        return f"UNREACHABLE ({exc.code().name})"


def start() -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    for service in settings.SERVICES:
        for role, cmd in commands(service).items():
            if _pid(service, role):
                print(f"{service} {role}: already running")
                continue
            log = open(LOGS / f"{service}.{role}.log", "ab")
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
            _pidfile(service, role).write_text(str(proc.pid))
    deadline = time.monotonic() + 60
    pending = set(settings.SERVICES)
    while pending and time.monotonic() < deadline:
        pending = {s for s in pending if health(s) != "SERVING"}
        dead = [(s, r) for s in settings.SERVICES for r in ("front", "worker") if not _pid(s, r)]
        if dead:
            raise SystemExit(f"suite: {dead} exited; see {LOGS}")
        if pending:
            time.sleep(0.5)
    if pending:
        raise SystemExit(f"suite: not SERVING after 60 s: {sorted(pending)}; see {LOGS}")
    time.sleep(1.0)  # workers bind their queues at start-up; topology already holds the events meanwhile
    status()


def stop() -> None:
    for service in settings.SERVICES:
        for role in ("front", "worker"):
            pid = _pid(service, role)
            if pid:
                os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_pid(s, r) for s in settings.SERVICES for r in ("front", "worker")):
        time.sleep(0.2)
    for service in settings.SERVICES:
        for role in ("front", "worker"):
            pid = _pid(service, role)
            if pid:
                os.killpg(pid, signal.SIGKILL)
            _pidfile(service, role).unlink(missing_ok=True)
    print("suite: stopped")


def status() -> None:
    print(f"{'service':<14} {'front':<14} {'worker':<14} {'health':<12} address")
    for service in settings.SERVICES:
        front, worker = _pid(service, "front"), _pid(service, "worker")
        print(f"{service:<14} {('pid ' + str(front)) if front else 'stopped':<14} "
              f"{('pid ' + str(worker)) if worker else 'stopped':<14} {health(service):<12} "
              f"{settings.grpc_target(service)}")


if __name__ == "__main__":
    {"start": start, "stop": stop, "status": status}[sys.argv[1]]()
