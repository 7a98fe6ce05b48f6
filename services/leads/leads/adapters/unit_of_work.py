"""The leads unit of work on PostgreSQL: the kit's transaction, outbox, inbox and request ids, leads'
repositories, and the event encoder given at bootstrap (so neither this module nor the service layer imports
it). By shape a ``leads.service_layer.unit_of_work.LeadsUnitOfWork``."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from leads.adapters.campaign_repository import CampaignRepository
from leads.adapters.customer_repository import CustomerRepository
from leads.adapters.import_staging import ImportStaging
from leads.adapters.lead_repository import LeadRepository
from leads.adapters.org_repository import OrgProjection, RepRepository
from leads.adapters.orm import metadata, org
from leads.adapters.settings_repository import PoolSettingsRepository
from leads.adapters.timeline_query import TimelineQuery
from shangji_kit.abstract_uow import EventEncoder
from shangji_kit.process_cache import ProcessCache
from shangji_kit.uow import UnitOfWork

# Many events as (type, subject, proto3 JSON text), for a bulk write.
BulkEncoder = Callable[[list], list[tuple[str, str, str]]]


class SqlLeadsUnitOfWork(UnitOfWork):
    def __init__(self, sessions: Callable[[], sa.Connection], encoder: EventEncoder,
                 bulk_encoder: BulkEncoder, settings_cache: ProcessCache | None = None) -> None:
        super().__init__("leads", sessions, metadata, encoder)
        self.bulk_encoder = bulk_encoder
        self.settings_cache = settings_cache

    def _start(self, session: sa.Connection) -> None:
        self.leads = LeadRepository(session)
        self.org = OrgProjection(session, org)
        self.pool_settings = PoolSettingsRepository(session, self.settings_cache)
        self.reps = RepRepository(session)
        self.customers = CustomerRepository(session)
        self.campaigns = CampaignRepository(session)
        self.timeline = TimelineQuery(session)
        self.import_sets = ImportStaging(session, self.outbox)

    def commit(self) -> None:
        super().commit()
        if self.settings_cache is not None and self.pool_settings.wrote:
            # This process reads its own write at once; the others when the trigger's NOTIFY reaches them.
            self.settings_cache.drop(PoolSettingsRepository.CACHE_NAME)

    def publish_bulk(self, events: list) -> None:
        self.outbox.copy_encoded(self.session, self.bulk_encoder(events))
        events.clear()
