"""The leads unit of work as the use cases see it: one transaction over the repositories, with the events
it will publish (outbox) and the events it has consumed (inbox). ``adapters/unit_of_work.py`` is the
PostgreSQL one; the unit tests have an in-memory one. A protocol, so neither imports this module (adapters
never import the service layer)."""

from __future__ import annotations

from typing import Protocol

from leads.service_layer.repositories import (
    CampaignRepository,
    CustomerRepository,
    ImportStaging,
    LeadRepository,
    OrgProjection,
    RepRepository,
    SettingsRepository,
    TimelineQuery,
)
from shangji_kit.abstract_uow import AbstractUnitOfWork


class LeadsUnitOfWork(AbstractUnitOfWork, Protocol):
    """The kit's unit of work (``with uow: ...; uow.commit()``, ``publish``, ``claim``, ``request_ids``) with
    leads' repositories, one per aggregate."""

    leads: LeadRepository
    org: OrgProjection
    pool_settings: SettingsRepository
    reps: RepRepository
    customers: CustomerRepository
    campaigns: CampaignRepository
    timeline: TimelineQuery
    # The PostgreSQL unit of work's only: a large import's set-based writes (the fakes import row by row).
    import_sets: ImportStaging

    def publish_bulk(self, events: list) -> None:
        """Many events at once (an import), written as ``publish``'s would be; ``events`` is emptied."""
