"""The erp_bridge unit of work on PostgreSQL: jobs, mappings and teams' users in one transaction, with outbox and
inbox (``ErpBridgeUnitOfWork`` by shape)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from erp_bridge.adapters.orm import metadata
from erp_bridge.adapters.repository import JobRepository, MappingRepository, OrgRepository
from shangji_kit.abstract_uow import EventEncoder
from shangji_kit.uow import UnitOfWork


class SqlErpBridgeUnitOfWork(UnitOfWork):
    jobs: JobRepository
    mappings: MappingRepository
    org: OrgRepository

    def __init__(self, sessions: Callable[[], sa.Connection], encoder: EventEncoder) -> None:
        super().__init__("erp_bridge", sessions, metadata, encoder)

    def _start(self, session: sa.Connection) -> None:
        self.jobs = JobRepository(session)
        self.mappings = MappingRepository(session)
        self.org = OrgRepository(session)
