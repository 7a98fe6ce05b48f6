"""The teams unit of work on PostgreSQL: one transaction over the organisation and opportunity teams, with its
outbox, inbox and request ids (``TeamsUnitOfWork`` by shape)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from shangji_kit.abstract_uow import EventEncoder
from shangji_kit.uow import UnitOfWork
from teams.adapters.orm import metadata
from teams.adapters.repository import (
    DepartmentRepository,
    OpportunityTeamRepository,
    PlacementRepository,
    TeamTemplateRepository,
    UserRepository,
)


class SqlTeamsUnitOfWork(UnitOfWork):
    users: UserRepository
    departments: DepartmentRepository
    placements: PlacementRepository
    opportunity_teams: OpportunityTeamRepository
    templates: TeamTemplateRepository

    def __init__(self, sessions: Callable[[], sa.Connection], encoder: EventEncoder) -> None:
        super().__init__("teams", sessions, metadata, encoder)

    def _start(self, session: sa.Connection) -> None:
        self.users = UserRepository(session)
        self.departments = DepartmentRepository(session)
        self.placements = PlacementRepository(session)
        self.opportunity_teams = OpportunityTeamRepository(session)
        self.templates = TeamTemplateRepository(session)
