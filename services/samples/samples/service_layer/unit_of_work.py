"""The samples unit of work: one transaction over requests, feedback, the catalogue, the approval policy and
teams' organisation, with its outbox and inbox."""

from __future__ import annotations

from samples.adapters import protomap
from samples.adapters.orm import metadata
from samples.adapters.repository import (
    FeedbackRepository,
    OrgRepository,
    PolicyRepository,
    ProductRepository,
    RequestRepository,
)
from shangji_kit.uow import UnitOfWork


class SamplesUnitOfWork(UnitOfWork):
    requests: RequestRepository
    feedback: FeedbackRepository
    products: ProductRepository
    policy: PolicyRepository
    org: OrgRepository

    def __init__(self, sessions) -> None:
        super().__init__("samples", sessions, metadata)

    def _start(self, session) -> None:
        self.requests = RequestRepository(session)
        self.feedback = FeedbackRepository(session)
        self.products = ProductRepository(session)
        self.policy = PolicyRepository(session)
        self.org = OrgRepository(session)

    def publish(self, events: list) -> None:
        for event in events:
            self.outbox.add(*protomap.event_to_proto(event))
        events.clear()
