"""What the use cases see of a unit of work: one transaction over the repositories below, with its outbox (domain
events, encoded by the adapter given at bootstrap) and inbox. ``adapters.unit_of_work`` is the PostgreSQL one;
``tests/unit/fakes.py`` the in-memory one."""

from __future__ import annotations

from typing import Protocol

from opportunities.service_layer.repositories import (
    Alerts,
    Customers,
    Deals,
    Org,
    Pipelines,
    Registrations,
    Tasks,
    Teams,
)
from shangji_kit.inbox import Delivery


class OpportunitiesUnitOfWork(Protocol):
    """``with uow: ...; uow.commit()``; leaving the block without commit rolls back."""

    deals: Deals
    pipelines: Pipelines
    registration: Registrations
    tasks: Tasks
    alerts: Alerts
    teams: Teams
    customers: Customers
    org: Org

    def __enter__(self) -> OpportunitiesUnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def claim(self, delivery: Delivery) -> bool:
        """True the first time this consumer sees this event (same transaction as its effect)."""

    def claim_event(self, consumer: str, event_id: str, event_type: str) -> bool: ...

    def publish(self, events: list) -> None:
        """Queue the domain events for the outbox of this transaction, then empty the list."""
