"""A service's gRPC front: thread pool, health that follows the database, reflection, drain on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from shangji_kit import db, log, metrics, tracing
from shangji_kit.auth import Authenticator
from shangji_kit.rpc import tls
from shangji_kit.rpc.interceptor import FrontInterceptor
from shangji_kit.rpc.observe import ObservingInterceptor
from shangji_kit.settings import Settings

_log = log.get(__name__)

LIVENESS = "shangji.liveness"
MAX_CONNECTION_AGE_MS = 5 * 60 * 1000
MAX_CONNECTION_AGE_GRACE_MS = 30 * 1000

# A registrar adds the service's servicers to the server and returns their full service names.
Registrar = Callable[[grpc.Server], list[str]]


class Front:
    def __init__(self, settings: Settings, register: Registrar, *, port: int | None = None,
                 readiness: Callable[[], bool] | None = None, share_port: bool = False) -> None:
        self.settings = settings
        self.port = settings.grpc_port if port is None else port
        self.readiness = readiness or (lambda: db.is_ready(settings.database_url))
        db.set_role(settings.service, db.FRONT, processes=settings.grpc_processes)
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=settings.grpc_threads,
                                       thread_name_prefix=f"{settings.service}-grpc"),
            interceptors=[ObservingInterceptor(settings.service),
                          FrontInterceptor(settings.service, Authenticator.for_settings(settings),
                                           access_log=settings.access_log)],
            # Off unless several processes of one front share the port on purpose: otherwise a second
            # suite on this machine would bind silently and steal half the calls.
            options=[("grpc.so_reuseport", 1 if share_port else 0),
                     # Clients reconnect now and then (after a grace for calls in flight), so new
                     # replicas get a share of long-lived connections from gateways and other fronts.
                     ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_MS),
                     ("grpc.max_connection_age_grace_ms", MAX_CONNECTION_AGE_GRACE_MS)],
        )
        self.service_names = register(self.server)
        self.health = health.HealthServicer(experimental_non_blocking=True)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            [*self.service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME], self.server)
        address = f"{settings.grpc_host}:{self.port}"
        credentials = tls.server_credentials()
        self.tls = credentials is not None
        self.bound_port = (self.server.add_secure_port(address, credentials) if credentials
                           else self.server.add_insecure_port(address))
        if self.bound_port == 0:
            raise RuntimeError(f"cannot bind {settings.grpc_host}:{self.port}")
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch_readiness, daemon=True,
                                         name=f"{settings.service}-readiness")

    def _set_health(self, serving: bool) -> None:
        state = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", *self.service_names):
            self.health.set(name, state)

    def _watch_readiness(self) -> None:
        last = None
        while not self._stop.is_set():
            ready = bool(self.readiness())
            if ready != last:
                self._set_health(ready)
                _log.info("readiness changed", extra=log.fields(serving=ready))
                last = ready
            self._stop.wait(self.settings.health_interval_seconds)

    def start(self) -> Front:
        # Liveness says only that this process serves calls; readiness ("") follows the database.
        self.health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        self._set_health(bool(self.readiness()))
        self.server.start()
        self._watcher.start()
        _log.info("front started", extra=log.fields(port=self.bound_port, tls=self.tls, services=self.service_names))
        return self

    def stop(self, grace: float | None = None) -> None:
        """Drain: stop reporting SERVING, refuse new calls, let in-flight ones finish within grace."""
        self._stop.set()
        self.health.enter_graceful_shutdown()
        self.server.stop(self.settings.drain_seconds if grace is None else grace).wait()

    def serve_forever(self) -> None:
        def on_term(signum, frame):
            _log.info("SIGTERM: draining")
            threading.Thread(target=self.stop, daemon=True).start()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        self.start()
        self.server.wait_for_termination()
        _log.info("front stopped")


_CHILD = "SHANGJI_GRPC_FRONT_CHILD"


def main(service: str, register: Registrar) -> None:
    settings = Settings.for_service(service)
    log.configure(f"{service}.front", settings.log_level)
    tracing.configure(f"shangji-{service}-front")
    if settings.grpc_processes > 1 and not os.environ.get(_CHILD):
        sys.exit(_supervise(settings))
    if settings.grpc_processes == 1:  # copies sharing a port would fight over one metrics port too
        metrics.serve(service=service)
    Front(settings, register, share_port=settings.grpc_processes > 1).serve_forever()


def _supervise(settings: Settings) -> int:
    """Run SHANGJI_GRPC_PROCESSES copies of this front on one port and stand for them.

    A front is CPU-bound in Python: one process uses one core whatever its thread count. The kernel
    spreads new connections over the copies (SO_REUSEPORT). SIGTERM is passed on, so every copy
    drains; when one copy dies the others are stopped and the exit code says so, for the
    orchestrator to restart the whole front.
    """
    env = {**os.environ, _CHILD: "1"}
    children = [subprocess.Popen([sys.executable, *sys.orig_argv[1:]], env=env)
                for _ in range(settings.grpc_processes)]
    _log.info("front processes started", extra=log.fields(pids=[c.pid for c in children]))
    stopping: list[int] = []  # the first child's exit code that made us stop, or 0 for a SIGTERM

    def forward(signum, frame):
        stopping.append(0)
        for c in children:
            if c.poll() is None:
                c.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        codes = [c.poll() for c in children]
        if all(code is not None for code in codes):
            # A copy still starting when SIGTERM came has no handler yet and dies of it: that is a clean stop.
            return stopping[0] if stopping else max(abs(code) for code in codes)
        died = [code for code in codes if code is not None]
        if died and not stopping:
            stopping.append(abs(died[0]) or 1)
            for c in children:
                if c.poll() is None:
                    c.send_signal(signal.SIGTERM)
        time.sleep(0.2)
