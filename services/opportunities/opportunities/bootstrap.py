"""Wiring: the real unit-of-work factories for this process: the deals' (with the event encoder its outbox uses)
and the reports'."""

from __future__ import annotations

from collections.abc import Callable

from opportunities.adapters import event_encoder
from opportunities.adapters.reports_store import ReportsUnitOfWork
from opportunities.adapters.unit_of_work import SqlUnitOfWork
from shangji_kit import db
from shangji_kit.settings import Settings


def uow_factory(settings: Settings | None = None) -> Callable[[], SqlUnitOfWork]:
    settings = settings or Settings.for_service("opportunities")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: SqlUnitOfWork(sessions, event_encoder.encode)


def reports_uow_factory(settings: Settings | None = None) -> Callable[[], ReportsUnitOfWork]:
    """Report units of work on the same database (the process's one engine for it)."""
    settings = settings or Settings.for_service("opportunities")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: ReportsUnitOfWork(sessions)
