"""The leads unit of work on PostgreSQL: the kit's transaction, outbox and inbox, leads' repositories, and
the event encoder given at bootstrap (so nothing here, and nothing in the service layer, imports it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import sqlalchemy as sa
from google.protobuf.message import Message

from leads.adapters.campaign_repository import CampaignRepository
from leads.adapters.customer_repository import CustomerRepository
from leads.adapters.lead_repository import LeadRepository
from leads.adapters.org_repository import OrgProjection, RepRepository
from leads.adapters.orm import metadata
from leads.adapters.settings_repository import PoolSettingsRepository
from shangji_kit.uow import UnitOfWork


class EventEncoder(Protocol):
    def encode(self, event: object) -> tuple[Message, str]:
        """A domain event as (proto message, subject resource name)."""

    def outbox_rows(self, events: list) -> list[tuple[str, str, str]]:
        """Events as (type, subject, proto3 JSON text), for a bulk write."""


class SqlLeadsUnitOfWork(UnitOfWork):
    """``leads.service_layer.unit_of_work.LeadsUnitOfWork`` on PostgreSQL."""

    def __init__(self, sessions: Callable[[], sa.Connection], encoder: EventEncoder) -> None:
        super().__init__("leads", sessions, metadata)
        self.encoder = encoder

    def _start(self, session: sa.Connection) -> None:
        self.leads = LeadRepository(session)
        self.org = OrgProjection(session)
        self.pool_settings = PoolSettingsRepository(session)
        self.reps = RepRepository(session)
        self.customers = CustomerRepository(session)
        self.campaigns = CampaignRepository(session)

    def publish(self, events: list) -> None:
        for event in events:
            self.outbox.add(*self.encoder.encode(event))
        events.clear()

    def publish_bulk(self, events: list) -> None:
        self.leads.copy_outbox(self.encoder.outbox_rows(events))
        events.clear()
