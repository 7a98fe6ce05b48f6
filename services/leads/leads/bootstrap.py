"""Wiring: the real unit-of-work factory (with its event encoder) and the clock for this process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from leads.adapters import event_encoder
from leads.adapters.unit_of_work import SqlLeadsUnitOfWork
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import db
from shangji_kit.settings import Settings


def uow_factory(settings: Settings | None = None) -> Callable[[], LeadsUnitOfWork]:
    settings = settings or Settings.for_service("leads")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: SqlLeadsUnitOfWork(sessions, event_encoder.encode, event_encoder.outbox_rows)


def clock() -> datetime:
    return datetime.now(UTC)
