"""The opportunities unit of work on PostgreSQL: one transaction over every repository, with the kit's outbox and
inbox. Domain events reach the outbox through the encoder given at bootstrap (``adapters.event_encoder``)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from opportunities.adapters.alert_repository import AlertRepository
from opportunities.adapters.change_repository import ChangeRepository
from opportunities.adapters.deal_repository import DealRepository
from opportunities.adapters.orm import metadata, org
from opportunities.adapters.pipeline_repository import PipelineRepository
from opportunities.adapters.projection_repositories import CustomerRepository, TeamRepository
from opportunities.adapters.registration_repository import RegistrationRepository
from opportunities.adapters.task_repository import TaskRepository
from opportunities.adapters.timeline_query import TimelineQuery
from shangji_kit.abstract_uow import EventEncoder
from shangji_kit.org_projection import OrgProjection
from shangji_kit.uow import UnitOfWork


class SqlUnitOfWork(UnitOfWork):
    deals: DealRepository
    pipelines: PipelineRepository
    registration: RegistrationRepository
    tasks: TaskRepository
    alerts: AlertRepository
    changes: ChangeRepository
    teams: TeamRepository
    customers: CustomerRepository
    org: OrgProjection
    timeline: TimelineQuery

    def __init__(self, sessions: Callable[[], sa.Connection], encoder: EventEncoder) -> None:
        super().__init__("opportunities", sessions, metadata, encoder)

    def _start(self, session: sa.Connection) -> None:
        self.pipelines = PipelineRepository(session)
        self.deals = DealRepository(session, self.pipelines)
        self.registration = RegistrationRepository(session)
        self.tasks = TaskRepository(session)
        self.alerts = AlertRepository(session)
        self.changes = ChangeRepository(session)
        self.teams = TeamRepository(session)
        self.customers = CustomerRepository(session)
        self.org = OrgProjection(session, org)
        self.timeline = TimelineQuery(session)
