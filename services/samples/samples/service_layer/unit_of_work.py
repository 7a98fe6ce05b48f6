"""What the samples use cases see of storage: one transaction over its repositories (one per aggregate),
with the outbox (``add``), the inbox (``claim``) and request ids (``request_ids``). The SQL one is
``samples.adapters.unit_of_work``; unit tests use fakes of the same shape."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from samples.domain import approval, model
from samples.domain.timeline import TimelineFact
from shangji_kit import visibility
from shangji_kit.abstract_uow import AbstractUnitOfWork
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page
from shangji_kit.timeline_token import Cursor


class RequestRepository(Protocol):
    def add(self, r: model.SampleRequest) -> None: ...

    def get(self, request_id: str, *, for_update: bool = False) -> model.SampleRequest | None: ...

    def get_visible(self, request_id: str, viewer: visibility.Viewer, *, for_update: bool = False
                    ) -> model.SampleRequest | None: ...

    def waiting_for(self, user_id: str) -> list[str]: ...

    def open_ids(self, *, opportunity_id: str | None = None, owner_id: str | None = None) -> list[str]:
        """Ids of the requests not yet ended (rejected, withdrawn, delivered) of a deal or of an owner."""

    def update(self, r: model.SampleRequest, expected_version: int) -> bool: ...

    def list_visible(self, viewer: visibility.Viewer, query: ListQuery, today: date, *, waiting_for_me: bool,
                     opportunity_id: str | None) -> Page[model.SampleRequest]:
        """One page of the requests ``viewer`` may see (or that wait for them) that pass ``query``'s filter, in its
        order; ``today`` is the company's date (overdue)."""

    def count_lines(self, viewer: visibility.Viewer, query: ListQuery, today: date, *, opportunity_id: str | None
                    ) -> int:
        """The lines of every request ``list_visible`` lists over all its pages (an export's rows)."""


class FeedbackRepository(Protocol):
    def add(self, f: model.Feedback) -> None: ...

    def get(self, request_id: str, feedback_id: str) -> model.Feedback | None: ...

    def update(self, f: model.Feedback, expected_version: int) -> bool: ...

    def list(self, request_id: str, limit: int, after: tuple[datetime, str] | None) -> list[model.Feedback]: ...


class ProductRepository(Protocol):
    def add(self, product: model.Product) -> bool: ...

    def get(self, code: str, *, for_update: bool = False) -> model.Product | None: ...

    def get_many(self, codes: set[str]) -> dict[str, model.Product]: ...

    def update(self, product: model.Product) -> None: ...

    def list(self, limit: int, after_code: str | None, show_inactive: bool) -> list[model.Product]: ...


class PolicyRepository(Protocol):
    def get(self) -> tuple[approval.Policy, datetime]: ...

    def replace(self, policy: approval.Policy, now: datetime) -> None: ...


class OrgRepository(Protocol):
    """Teams' organisation (``shangji_kit.org_projection.OrgProjection``) and the approvers' chain."""

    def apply_user(self, user: visibility.OrgUser) -> None: ...

    def apply_department(self, department: visibility.OrgDepartment) -> None: ...

    def viewer(self, user_id: str) -> visibility.Viewer: ...

    def is_active(self, user_id: str) -> bool | None: ...

    def department_of(self, user_id: str) -> str | None: ...

    def chain(self, department_id: str) -> list[approval.ChainDepartment]: ...


class TimelineQuery(Protocol):
    def page(self, customer: str, viewer: visibility.Viewer, after: Cursor | None, limit: int
             ) -> list[TimelineFact]:
        """Up to ``limit`` facts after ``after``, in timeline order, from the requests ``viewer`` may see of
        ``customer`` ("customers/{id}")."""


class SamplesUnitOfWork(AbstractUnitOfWork, Protocol):
    requests: RequestRepository
    feedback: FeedbackRepository
    products: ProductRepository
    policy: PolicyRepository
    org: OrgRepository
    timeline: TimelineQuery
