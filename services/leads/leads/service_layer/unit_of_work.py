"""The leads unit of work: one transaction over leads and the organisation projection, with outbox and inbox."""

from __future__ import annotations

from leads.adapters import protomap
from leads.adapters.accounts import CampaignRepository, CustomerRepository
from leads.adapters.orm import metadata
from leads.adapters.repository import LeadRepository, OrgProjection, PoolSettingsRepository, RepRepository
from shangji_kit.uow import UnitOfWork


class LeadsUnitOfWork(UnitOfWork):
    leads: LeadRepository
    org: OrgProjection
    pool_settings: PoolSettingsRepository
    reps: RepRepository
    customers: CustomerRepository
    campaigns: CampaignRepository

    def __init__(self, sessions) -> None:
        super().__init__("leads", sessions, metadata)

    def _start(self, session) -> None:
        self.leads = LeadRepository(session)
        self.org = OrgProjection(session)
        self.pool_settings = PoolSettingsRepository(session)
        self.reps = RepRepository(session)
        self.customers = CustomerRepository(session)
        self.campaigns = CampaignRepository(session)

    def publish(self, events: list) -> None:
        for event in events:
            self.outbox.add(*protomap.event_to_proto(event))
        events.clear()

    def publish_bulk(self, events: list) -> None:
        """Many events at once (an import): written now by COPY, in this transaction, as publish's would be."""
        self.leads.copy_outbox(protomap.outbox_rows(events))
        events.clear()
