"""The erp_bridge unit of work: jobs, mappings and teams' users in one transaction, with outbox and inbox."""

from __future__ import annotations

from erp_bridge.adapters import protomap
from erp_bridge.adapters.orm import metadata
from erp_bridge.adapters.repository import JobRepository, MappingRepository, OrgRepository
from shangji_kit.uow import UnitOfWork


class ErpBridgeUnitOfWork(UnitOfWork):
    jobs: JobRepository
    mappings: MappingRepository
    org: OrgRepository

    def __init__(self, sessions) -> None:
        super().__init__("erp_bridge", sessions, metadata)

    def _start(self, session) -> None:
        self.jobs = JobRepository(session)
        self.mappings = MappingRepository(session)
        self.org = OrgRepository(session)

    def publish(self, events: list) -> None:
        for event in events:
            self.outbox.add(*protomap.event_to_proto(event))
        events.clear()
