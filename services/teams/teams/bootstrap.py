"""Wiring: the real unit-of-work factory for this process."""

from __future__ import annotations

from collections.abc import Callable

from shangji_kit import db
from shangji_kit.settings import Settings
from teams.service_layer.unit_of_work import TeamsUnitOfWork


def uow_factory(settings: Settings | None = None) -> Callable[[], TeamsUnitOfWork]:
    settings = settings or Settings.for_service("teams")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: TeamsUnitOfWork(sessions)
