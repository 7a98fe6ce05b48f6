"""The opportunities unit of work: one transaction over opportunities, pipelines, teams and teams' organisation,
with its outbox and inbox."""

from __future__ import annotations

from opportunities.adapters import protomap
from opportunities.adapters.orm import metadata
from opportunities.adapters.repository import (
    AlertRepository,
    ChainRepository,
    CustomerRepository,
    OpportunityRepository,
    OrgRepository,
    PipelineRepository,
    RoutingRepository,
    SettingsRepository,
    StageHistoryRepository,
    TeamRepository,
    WorkRepository,
)
from shangji_kit.uow import UnitOfWork


class OpportunitiesUnitOfWork(UnitOfWork):
    opportunities: OpportunityRepository
    pipelines: PipelineRepository
    teams: TeamRepository
    org: OrgRepository
    history: StageHistoryRepository
    settings: SettingsRepository
    routing: RoutingRepository
    alerts: AlertRepository
    chains: ChainRepository
    customers: CustomerRepository
    work: WorkRepository

    def __init__(self, sessions) -> None:
        super().__init__("opportunities", sessions, metadata)

    def _start(self, session) -> None:
        self.opportunities = OpportunityRepository(session)
        self.pipelines = PipelineRepository(session)
        self.teams = TeamRepository(session)
        self.org = OrgRepository(session)
        self.history = StageHistoryRepository(session)
        self.settings = SettingsRepository(session)
        self.routing = RoutingRepository(session)
        self.alerts = AlertRepository(session)
        self.chains = ChainRepository(session)
        self.customers = CustomerRepository(session)
        self.work = WorkRepository(session)

    def publish(self, events: list) -> None:
        for event in events:
            self.outbox.add(*protomap.event_to_proto(event))
        events.clear()
