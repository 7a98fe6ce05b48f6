"""The leads unit of work as the use cases see it: one transaction over the repositories, with the events
it will publish (outbox) and the events it has consumed (inbox). ``adapters/unit_of_work.py`` is the
PostgreSQL one; the unit tests have an in-memory one. A protocol, so neither imports this module (adapters
never import the service layer)."""

from __future__ import annotations

from typing import Protocol

from leads.service_layer.repositories import (
    CampaignRepository,
    CustomerRepository,
    LeadRepository,
    OrgProjection,
    RepRepository,
    SettingsRepository,
)
from shangji_kit.inbox import Delivery


class LeadsUnitOfWork(Protocol):
    """``with uow: ...; uow.commit()``; leaving the block without commit rolls back (events too)."""

    leads: LeadRepository
    org: OrgProjection
    pool_settings: SettingsRepository
    reps: RepRepository
    customers: CustomerRepository
    campaigns: CampaignRepository

    def __enter__(self) -> LeadsUnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def claim(self, delivery: Delivery) -> bool:
        """True the first time this consumer sees this event (in this transaction)."""

    def publish(self, events: list) -> None:
        """Domain events to publish when this transaction commits; ``events`` is emptied."""

    def publish_bulk(self, events: list) -> None:
        """Many events at once (an import), written as ``publish``'s would be; ``events`` is emptied."""
