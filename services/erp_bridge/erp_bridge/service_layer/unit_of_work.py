"""What the erp_bridge use cases see of storage: jobs, mappings and teams' users in one transaction, with the
outbox (``add``) and inbox (``claim``). The SQL one is ``erp_bridge.adapters.unit_of_work``."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from erp_bridge.domain.model import CustomerMapping, Job, ProductMapping
from shangji_kit import visibility
from shangji_kit.abstract_uow import AbstractUnitOfWork


class JobRepository(Protocol):
    def add(self, job: Job) -> bool:
        """False when a job for this reference exists already."""

    def revive(self, job: Job) -> bool:
        """A dead-lettered job of the same reference takes this request and is pending again."""

    def lock_pending(self, reference: str) -> Job | None: ...

    def lock_next_due(self, now: datetime) -> Job | None: ...

    def save(self, job: Job) -> None: ...

    def get(self, job_id: str) -> Job | None: ...

    def page(self, limit: int, after: tuple[datetime, str] | None, state: str | None) -> list[Job]: ...

    def all(self, states: tuple[str, ...] | None = None) -> list[Job]: ...

    def lock_dead_letters(self, ids: list[str] | None) -> list[Job]: ...


class MappingRepository(Protocol):
    def products(self, codes: list[str]) -> dict[str, str]: ...

    def upsert_product(self, mapping: ProductMapping) -> None: ...

    def delete_product(self, product: str) -> bool: ...

    def product_page(self, limit: int, after: str) -> list[ProductMapping]: ...

    def customer(self, customer: str) -> CustomerMapping | None: ...

    def upsert_customer(self, mapping: CustomerMapping, *, keep_existing: bool = False) -> None: ...

    def delete_customer(self, customer: str) -> bool: ...

    def customer_page(self, limit: int, after: str) -> list[CustomerMapping]: ...


class OrgRepository(Protocol):
    def apply_user(self, user: visibility.OrgUser) -> None: ...

    def is_operator(self, user_id: str) -> bool:
        """sales ops or admin, and active."""


class ErpBridgeUnitOfWork(AbstractUnitOfWork, Protocol):
    jobs: JobRepository
    mappings: MappingRepository
    org: OrgRepository
