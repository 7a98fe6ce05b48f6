"""Wiring: the real unit-of-work factory for this process."""

from __future__ import annotations

from collections.abc import Callable

from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import db
from shangji_kit.settings import Settings


def uow_factory(settings: Settings | None = None) -> Callable[[], OpportunitiesUnitOfWork]:
    settings = settings or Settings.for_service("opportunities")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: OpportunitiesUnitOfWork(sessions)
