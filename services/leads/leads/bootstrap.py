"""Wiring: the real unit-of-work factories (the leads' one with its event encoder, the reports') and the clock for
this process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from leads.adapters import event_encoder
from leads.adapters.reports_queries import ReportsUnitOfWork
from leads.adapters.unit_of_work import SqlLeadsUnitOfWork
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import db
from shangji_kit.settings import Settings


def uow_factory(settings: Settings | None = None) -> Callable[[], LeadsUnitOfWork]:
    settings = settings or Settings.for_service("leads")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    # Not wired to process_cache.for_database yet: its LISTEN connection is one more per process than the
    # connection budget gives a front (tests/test_connection_budget.py); the budget must count it first.
    return lambda: SqlLeadsUnitOfWork(sessions, event_encoder.encode, event_encoder.outbox_rows)


def reports_uow_factory(settings: Settings | None = None) -> Callable[[], ReportsUnitOfWork]:
    """Report units of work on the same database (the process's one engine for it)."""
    settings = settings or Settings.for_service("leads")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: ReportsUnitOfWork(sessions)


def clock() -> datetime:
    return datetime.now(UTC)
