"""Running a service's front and worker for tests: in-process (front) or as subprocesses (both).

Workers are always subprocesses: nameko needs eventlet's monkey patching, which grpcio in the test
process cannot live with.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shangji_kit.rpc.server import Front
from shangji_kit.settings import Settings

WORKER_CLASSES = {
    "teams": "teams.entrypoints.worker:TeamsWorker",
    "leads": "leads.entrypoints.worker:LeadsWorker",
    "opportunities": "opportunities.entrypoints.worker:OpportunitiesWorker",
    "samples": "samples.entrypoints.worker:SamplesWorker",
    "notify": "notify.entrypoints.worker:NotifyWorker",
    "erp_bridge": "erp_bridge.entrypoints.worker:ErpBridgeWorker",
}


def _die_with_parent(command: list[str]) -> list[str]:
    """The command wrapped so the kernel kills it when the test process dies (setpriv --pdeathsig).

    Without it a test run that is killed (a timeout, Ctrl-C, a crashed fixture) leaves a dozen fronts
    and workers polling dropped databases; seen here, 115 of them on one machine. Not a preexec_fn:
    Python code between fork and exec in a process with grpc's threads hung a front before exec.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *command] if setpriv else command


def start_timeout() -> float:
    """Seconds a test waits for a subprocess to start (SHANGJI_TEST_START_SECONDS, default 60)."""
    return float(os.environ.get("SHANGJI_TEST_START_SECONDS") or 60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_serving(target: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with grpc.insecure_channel(target) as channel:
                resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = resp.status
        except grpc.RpcError as exc:
            last = exc.code()
        time.sleep(0.1)
    raise TimeoutError(f"{target} not SERVING after {timeout}s (last: {last})")


class ServiceProcess:
    """One front or worker subprocess with its log file."""

    def __init__(self, service: str, role: str, env: dict[str, str], log_dir: Path) -> None:
        self.service = service
        self.role = role
        self.env = env
        self.log_path = log_dir / f"{service}.{role}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        if self.role == "front":
            return [sys.executable, "-m", f"{self.service}.entrypoints.grpc_api"]
        return [sys.executable, "-m", "shangji_kit.worker_main", self.service, WORKER_CLASSES[self.service]]

    def start(self) -> ServiceProcess:
        self._starts_before = self.log_path.read_text(errors="replace").count("worker started") \
            if self.log_path.exists() else 0
        # Another pytest session of the same user may have pruned this session's temporary directory.
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(_die_with_parent(self.command), env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        return self

    def wait_started(self, timeout: float | None = None) -> None:
        timeout = start_timeout() if timeout is None else timeout
        if self.role == "front":
            wait_serving(f"127.0.0.1:{self.env[f'SHANGJI_{self.service.upper()}_GRPC_PORT']}", timeout)
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.service} worker exited: {self.log_path.read_text()[-2000:]}")
            text = self.log_path.read_text(errors="replace")
            if text.count("worker started") > self._starts_before:
                return
            time.sleep(0.05)
        raise TimeoutError(f"{self.service} worker did not start: {self.log_path.read_text()[-2000:]}")

    def restart(self) -> None:
        self.kill()
        self.launch()

    def launch(self) -> None:
        self.start()
        self.wait_started()

    def kill(self) -> None:
        """SIGKILL: the crash case, no drain."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise
        return self.proc.returncode if self.proc else 0


class Suite:
    """Every service's front and worker as subprocesses on free ports, for end-to-end tests."""

    def __init__(self, services: tuple[str, ...], env: dict[str, str], log_dir: Path) -> None:
        self.env = dict(env)
        self.ports = {s: free_port() for s in services}
        for s, port in self.ports.items():
            self.env[f"SHANGJI_{s.upper()}_GRPC_PORT"] = str(port)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.processes = {(s, r): ServiceProcess(s, r, self.env, log_dir)
                          for s in services for r in ("front", "worker")}

    def target(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"

    def start(self) -> Suite:
        for p in self.processes.values():
            p.start()
        try:
            for p in self.processes.values():
                p.wait_started()
        except BaseException:
            self.stop()  # a suite that failed to start leaves no process behind
            raise
        return self

    def process(self, service: str, role: str) -> ServiceProcess:
        return self.processes[(service, role)]

    def stop(self) -> None:
        for p in self.processes.values():
            try:
                p.terminate(timeout=15)
            except Exception:  # keep stopping the others
                pass


def worker_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.setdefault("SHANGJI_LOG_LEVEL", "INFO")
    return env


@contextlib.contextmanager
def running_front(service: str, register: Callable[..., list[str]]) -> Iterator[Front]:
    """A service's gRPC front in this process, on a free port, against the session's databases."""
    settings = Settings.for_service(service)
    front = Front(settings, lambda server: register(server, settings), port=free_port()).start()
    try:
        yield front
    finally:
        front.stop(0)
