"""Wiring: the real unit-of-work factory (with the outbound event encoder) for this process."""

from __future__ import annotations

from collections.abc import Callable

from shangji_kit import db
from shangji_kit.settings import Settings
from teams.adapters import protomap
from teams.adapters.unit_of_work import SqlTeamsUnitOfWork


def uow_factory(settings: Settings | None = None) -> Callable[[], SqlTeamsUnitOfWork]:
    settings = settings or Settings.for_service("teams")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: SqlTeamsUnitOfWork(sessions, protomap.event_to_proto)
