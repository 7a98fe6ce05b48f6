"""The teams unit of work: one transaction over the organisation and opportunity teams, with its outbox and inbox."""

from __future__ import annotations

from shangji_kit.uow import UnitOfWork
from teams.adapters import protomap
from teams.adapters.orm import metadata
from teams.adapters.repository import (
    DepartmentRepository,
    OpportunityTeamRepository,
    PlacementRepository,
    TeamTemplateRepository,
    UserRepository,
)


class TeamsUnitOfWork(UnitOfWork):
    users: UserRepository
    departments: DepartmentRepository
    placements: PlacementRepository
    opportunity_teams: OpportunityTeamRepository
    templates: TeamTemplateRepository

    def __init__(self, sessions) -> None:
        super().__init__("teams", sessions, metadata)

    def _start(self, session) -> None:
        self.users = UserRepository(session)
        self.departments = DepartmentRepository(session)
        self.placements = PlacementRepository(session)
        self.opportunity_teams = OpportunityTeamRepository(session)
        self.templates = TeamTemplateRepository(session)

    def publish(self, events: list) -> None:
        for event in events:
            self.outbox.add(*protomap.event_to_proto(event))
        events.clear()
