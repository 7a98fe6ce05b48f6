"""Wiring: the real unit-of-work factory and the opportunities client for this process."""

from __future__ import annotations

from collections.abc import Callable

from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit import db
from shangji_kit.settings import Settings


def uow_factory(settings: Settings | None = None) -> Callable[[], SamplesUnitOfWork]:
    settings = settings or Settings.for_service("samples")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: SamplesUnitOfWork(sessions)
