"""What the use cases see of a unit of work (the kit's ``AbstractUnitOfWork``: commit, claim, add/publish domain
events, request ids) with this service's repositories, one per aggregate. ``adapters.unit_of_work`` is the
PostgreSQL one; ``tests/unit/fakes.py`` the in-memory one."""

from __future__ import annotations

from typing import Protocol

from opportunities.service_layer.repositories import (
    Alerts,
    Changes,
    Customers,
    Deals,
    Org,
    Pipelines,
    Registrations,
    Tasks,
    Teams,
    Timeline,
)
from shangji_kit.abstract_uow import AbstractUnitOfWork


class OpportunitiesUnitOfWork(AbstractUnitOfWork, Protocol):
    """``with uow: ...; uow.commit()``; leaving the block without commit rolls back."""

    deals: Deals
    pipelines: Pipelines
    registration: Registrations
    tasks: Tasks
    alerts: Alerts
    changes: Changes
    teams: Teams
    customers: Customers
    org: Org
    timeline: Timeline
