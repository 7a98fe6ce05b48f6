"""Wiring: the real unit-of-work factory for this process, with the event encoder its outbox uses."""

from __future__ import annotations

from collections.abc import Callable

from opportunities.adapters import event_encoder
from opportunities.adapters.unit_of_work import SqlUnitOfWork
from shangji_kit import db
from shangji_kit.settings import Settings


def uow_factory(settings: Settings | None = None) -> Callable[[], SqlUnitOfWork]:
    settings = settings or Settings.for_service("opportunities")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: SqlUnitOfWork(sessions, event_encoder.encode)
