"""The samples unit of work on PostgreSQL: one transaction over requests, feedback, the catalogue, the approval
policy and teams' organisation, with its outbox, inbox and request ids (``SamplesUnitOfWork`` by shape)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from samples.adapters.orm import metadata
from samples.adapters.repository import (
    FeedbackRepository,
    OrgRepository,
    PolicyRepository,
    ProductRepository,
    RequestRepository,
)
from samples.adapters.timeline_query import TimelineQuery
from shangji_kit.abstract_uow import EventEncoder
from shangji_kit.uow import UnitOfWork


class SqlSamplesUnitOfWork(UnitOfWork):
    requests: RequestRepository
    feedback: FeedbackRepository
    products: ProductRepository
    policy: PolicyRepository
    org: OrgRepository
    timeline: TimelineQuery

    def __init__(self, sessions: Callable[[], sa.Connection], encoder: EventEncoder) -> None:
        super().__init__("samples", sessions, metadata, encoder)

    def _start(self, session: sa.Connection) -> None:
        self.requests = RequestRepository(session)
        self.feedback = FeedbackRepository(session)
        self.products = ProductRepository(session)
        self.policy = PolicyRepository(session)
        self.org = OrgRepository(session)
        self.timeline = TimelineQuery(session)
