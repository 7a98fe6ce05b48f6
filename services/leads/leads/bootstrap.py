"""Wiring: the real unit-of-work factories (the leads' one with its event encoder, the reports') and the clock for
this process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from leads.adapters import event_encoder
from leads.adapters.reports_queries import ReportsUnitOfWork
from leads.adapters.unit_of_work import SqlLeadsUnitOfWork
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import db, process_cache
from shangji_kit.settings import Settings


def uow_factory(settings: Settings | None = None, *, cached: bool = False) -> Callable[[], LeadsUnitOfWork]:
    """``cached``: read the pool settings through this process's cache (the front: every capture, conversion and
    claim reads them). The connection budget gives a front, not a worker or a tool, the cache's LISTEN
    connection (``db.CACHE_CONNECTIONS``); workers' handlers read settings rarely enough to go to the database."""
    settings = settings or Settings.for_service("leads")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    cache = process_cache.for_database(settings.database_url) if cached else None
    return lambda: SqlLeadsUnitOfWork(sessions, event_encoder.encode, event_encoder.outbox_rows, cache)


def reports_uow_factory(settings: Settings | None = None) -> Callable[[], ReportsUnitOfWork]:
    """Report units of work on the same database (the process's one engine for it)."""
    settings = settings or Settings.for_service("leads")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: ReportsUnitOfWork(sessions)


def clock() -> datetime:
    return datetime.now(UTC)
