"""What a service's nameko worker is built from: the psycopg wait fix, the outbox relay, units of work.

Workers are started by ``shangji_kit.worker_main``, which monkey-patches before any import.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg.waiting
from nameko.extensions import DependencyProvider

from shangji_kit import envelope, log
from shangji_kit.relay import OutboxRelay
from shangji_kit.settings import Settings

_log = log.get(__name__)


def apply_psycopg_wait_fix() -> None:
    psycopg.waiting.wait = psycopg.waiting.wait_select


def assert_psycopg_wait_fix() -> None:
    if psycopg.waiting.wait is not psycopg.waiting.wait_select:
        raise RuntimeError("psycopg.waiting.wait must be wait_select in an eventlet worker; "
                           "the C wait loop blocks the hub")


def nameko_config(settings: Settings) -> dict:
    return {
        "AMQP_URI": settings.amqp_uri,
        # events arrive as application/cloudevents+json (envelope.py registers the serializer)
        "ACCEPT": ["json", envelope.SERIALIZER],
        "PREFETCH_COUNT": settings.consumer_prefetch,
        "SHANGJI_CONSUMER_MAX_ATTEMPTS": settings.consumer_max_attempts,
        "SHANGJI_CONSUMER_RETRY_BASE_MS": settings.consumer_retry_base_ms,
        "max_workers": 10,
    }


class OutboxRelayRunner(DependencyProvider):
    """Runs the service's outbox relay in a managed green thread while the worker lives."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._stopping = False
        self._relay: OutboxRelay | None = None

    def start(self) -> None:
        assert_psycopg_wait_fix()
        settings = Settings.for_service(self.service)
        import eventlet

        self._relay = OutboxRelay(self.service, settings.database_url, settings.amqp_uri,
                                  batch=settings.relay_batch, poll_seconds=settings.relay_poll_seconds,
                                  linger_seconds=settings.relay_linger_seconds, sleep=eventlet.sleep)
        self._stopping = False
        self.container.spawn_managed_thread(self._run, identifier=f"{self.service}.outbox_relay")

    def _run(self) -> None:
        import eventlet

        self._relay.run(lambda: self._stopping, sleep=eventlet.sleep)

    def stop(self) -> None:
        self._stopping = True

    def kill(self) -> None:
        self._stopping = True


class UnitOfWorkProvider(DependencyProvider):
    """Injects a factory of fresh units of work (one per use-case call).

    ``build`` (a service's ``bootstrap.uow_factory``) runs at container set-up, not at import, so
    importing a worker module opens no database pool.
    """

    def __init__(self, build: Callable[[], Callable[[], object]]) -> None:
        self.build = build
        self.factory: Callable[[], object] | None = None

    def setup(self) -> None:
        self.factory = self.build()

    def get_dependency(self, worker_ctx):
        return self.factory
