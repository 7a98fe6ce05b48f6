"""Wiring: the real unit-of-work factory (with the outbound event encoder) for this process."""

from __future__ import annotations

from collections.abc import Callable

from samples.adapters import protomap
from samples.adapters.unit_of_work import SqlSamplesUnitOfWork
from shangji_kit import db
from shangji_kit.settings import Settings


def uow_factory(settings: Settings | None = None) -> Callable[[], SqlSamplesUnitOfWork]:
    settings = settings or Settings.for_service("samples")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: SqlSamplesUnitOfWork(sessions, protomap.event_to_proto)
