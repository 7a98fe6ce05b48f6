"""Start, stop and show the whole suite: a gRPC front and a nameko worker per service, the web console, and the
demo ERP.

Processes run detached; their pids and logs live in .run/ (logs: .run/logs/<service>.<role>.log).
The ERP is a real Tryton 8.2 (`python -m shangji_kit.testing.tryton serve`: database shangji_erp cloned
from the template the tests use, built once, on port 8000 in 2 processes), which erp_bridge's default
SHANGJI_ERP_* settings point at; set SHANGJI_ERP_URL to use another ERP and the suite starts none.
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


WEB_COMMAND = [sys.executable, "-m", "web.entrypoints.http_api"]


def web_url() -> str:
    host, port = settings.web_address()
    return f"http://{host}:{port}/"


def web_ready(timeout: float = 1.0) -> bool:
    import urllib.request

    try:
        urllib.request.urlopen(web_url() + "healthz", timeout=timeout)
    except OSError:
        return False
    return True


def _start_web() -> None:
    if _pid("web", "front"):
        return
    log = open(LOGS / "web.front.log", "ab")
    proc = subprocess.Popen(WEB_COMMAND, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    _pidfile("web", "front").write_text(str(proc.pid))


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


ERP_PORT = 8000


def _start_erp() -> None:
    """The demo Tryton, unless one runs or another ERP is configured. The first start builds its template
    (1-3 minutes); erp_bridge retries until it answers, so nothing waits for it here but the demo walk."""
    if os.environ.get("SHANGJI_ERP_URL") or _pid("erp", "tryton"):
        return
    log = open(LOGS / "erp.tryton.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "shangji_kit.testing.tryton", "serve", "--database",
                             "shangji_erp", "--port", str(ERP_PORT), "--processes", "2"],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    _pidfile("erp", "tryton").write_text(str(proc.pid))


def erp_ready(timeout: float = 1.0) -> bool:
    import urllib.request

    url = os.environ.get("SHANGJI_ERP_URL", f"http://127.0.0.1:{ERP_PORT}")
    try:
        urllib.request.urlopen(url + "/", timeout=timeout)
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False
    return True


def start() -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    _start_erp()
    for service in settings.SERVICES:
        for role, cmd in commands(service).items():
            if _pid(service, role):
                print(f"{service} {role}: already running")
                continue
            log = open(LOGS / f"{service}.{role}.log", "ab")
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
            _pidfile(service, role).write_text(str(proc.pid))
    _start_web()
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
    while not web_ready() and time.monotonic() < deadline:
        if not _pid("web", "front"):
            raise SystemExit(f"suite: the web console exited; see {LOGS}/web.front.log")
        time.sleep(0.5)
    time.sleep(1.0)  # workers bind their queues at start-up; topology already holds the events meanwhile
    status()


def stop() -> None:
    for role in ("erp", "tryton"), ("web", "front"):
        pid = _pid(*role)
        if pid:
            os.killpg(pid, signal.SIGTERM)
        _pidfile(*role).unlink(missing_ok=True)
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
    erp = _pid("erp", "tryton")
    where = os.environ.get("SHANGJI_ERP_URL", f"http://127.0.0.1:{ERP_PORT}")
    state = f"pid {erp}" if erp else "external" if os.environ.get("SHANGJI_ERP_URL") else "stopped"
    print(f"{'erp (tryton)':<14} {state:<14} {'':<14} {'ANSWERS' if erp_ready() else 'NOT YET':<12} {where}")
    web = _pid("web", "front")
    print(f"{'web console':<14} {('pid ' + str(web)) if web else 'stopped':<14} {'':<14} "
          f"{'ANSWERS' if web_ready() else 'NOT YET':<12} {web_url()}")


if __name__ == "__main__":
    {"start": start, "stop": stop, "status": status}[sys.argv[1]]()
