"""Wiring: the real unit-of-work factory for this process."""

from __future__ import annotations

from collections.abc import Callable

from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit import db
from shangji_kit.settings import Settings


def uow_factory(settings: Settings | None = None) -> Callable[[], NotifyUnitOfWork]:
    settings = settings or Settings.for_service("notify")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: NotifyUnitOfWork(sessions)
