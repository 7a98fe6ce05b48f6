"""In-memory samples storage for use-case tests: the kit's fakes with the samples repositories' queries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter

from samples.adapters import protomap
from samples.domain import approval, model
from shangji_kit import visibility
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page
from shangji_kit.testing.fakes import FakeOrgProjection, FakeRepository, FakeUnitOfWork

DEFAULT_POLICY = approval.Policy((
    approval.Tier("sales_manager", 10, Decimal(5000), approval.DEPARTMENT_HEAD),
    approval.Tier("sales_director", 100, Decimal(50000), approval.DEPARTMENT_HEAD),
    approval.Tier("vp", None, None, approval.DEPARTMENT_HEAD)), "CNY")


class FakeOrg(FakeOrgProjection):
    def chain(self, department_id: str) -> list[approval.ChainDepartment]:
        dept = self.departments.get(department_id)
        if dept is None:
            return []
        ids = [p for p in dept.path.strip("/").split("/") if p][::-1]
        users = list(self.users.rows())

        def member(u: visibility.OrgUser) -> approval.Member:
            return approval.Member(u.user_id, frozenset(u.roles), u.active)

        chain = []
        for i in ids:
            d = self.departments.get(i)
            if d is None:
                continue
            head = self.users.get(d.head_id) if d.head_id else None
            chain.append(approval.ChainDepartment(i, member(head) if head else None,
                                                  tuple(member(u) for u in users if u.department_id == i)))
        return chain


class FakeRequests(FakeRepository[str, model.SampleRequest]):
    def __init__(self, uow: FakeSamplesUnitOfWork) -> None:
        super().__init__()
        self.uow = uow

    def add(self, r: model.SampleRequest) -> None:
        assert super().add(r), f"{r.id} exists"

    def get(self, request_id: str, *, for_update: bool = False) -> model.SampleRequest | None:
        return super().get(request_id)

    def _sees(self, r: model.SampleRequest, viewer: visibility.Viewer) -> bool:
        assigned = any(f.request_id == r.id and f.assignee_id == viewer.user_id for f in self.uow.feedback.rows())
        return self.uow.org.can_see(viewer, r.requester_id,
                                    on_team=viewer.user_id in (*r.approver_ids, r.owner_id) or assigned)

    def get_visible(self, request_id: str, viewer: visibility.Viewer, *, for_update: bool = False
                    ) -> model.SampleRequest | None:
        r = self.get(request_id)
        return r if r is not None and self._sees(r, viewer) else None

    def waiting_for(self, user_id: str) -> list[str]:
        return [r.id for r in self.rows() if r.current_step and r.current_step.approver_id == user_id]

    def open_ids(self, *, opportunity_id: str | None = None, owner_id: str | None = None) -> list[str]:
        return sorted(r.id for r in self.rows() if r.state not in model.TERMINAL
                      and opportunity_id in (None, r.opportunity_id) and owner_id in (None, r.owner_id))

    def update(self, r: model.SampleRequest, expected_version: int) -> bool:
        held = super().get(r.id)
        if held is None or held.version != expected_version:
            return False
        self.save(r)
        return True

    def list_visible(self, viewer: visibility.Viewer, query: ListQuery, today: date, *, waiting_for_me: bool,
                     opportunity_id: str | None) -> Page[model.SampleRequest]:
        # Filters, orders and tokens are SQL's (tests/integration/test_request_lists.py); the fake lists newest first.
        assert query.filter.root is None and query.order_by == "create_time desc" and not query.page_token
        rows = sorted((r for r in self.rows() if self._sees(r, viewer)), key=lambda r: (r.create_time, r.id),
                      reverse=True)
        if waiting_for_me:
            rows = [r for r in rows if r.current_step and r.current_step.approver_id == viewer.user_id]
        if opportunity_id:
            rows = [r for r in rows if r.opportunity_id == opportunity_id]
        return Page(rows[:query.limit], "")


class FakeFeedback(FakeRepository[tuple[str, str], model.Feedback]):
    def __init__(self) -> None:
        super().__init__(key=lambda f: (f.request_id, f.id))

    def add(self, f: model.Feedback) -> None:
        assert super().add(f)

    def get(self, request_id: str, feedback_id: str) -> model.Feedback | None:
        return super().get((request_id, feedback_id))

    def update(self, f: model.Feedback, expected_version: int) -> bool:
        held = super().get((f.request_id, f.id))
        if held is None or held.version != expected_version:
            return False
        self.save(f)
        return True

    def list(self, request_id: str, limit: int, after: tuple[datetime, str] | None) -> list[model.Feedback]:
        rows = sorted((f for f in self.rows() if f.request_id == request_id), key=lambda f: (f.create_time, f.id))
        return [f for f in rows if after is None or (f.create_time, f.id) > after][:limit]


class FakeProducts(FakeRepository[str, model.Product]):
    def __init__(self) -> None:
        super().__init__(key=attrgetter("code"))

    def get(self, code: str, *, for_update: bool = False) -> model.Product | None:
        return super().get(code)

    def get_many(self, codes: set[str]) -> dict[str, model.Product]:
        return {c: p for c in codes if (p := super(FakeProducts, self).get(c)) is not None}

    def update(self, product: model.Product) -> None:
        self.save(product)

    def list(self, limit: int, after_code: str | None, show_inactive: bool) -> list[model.Product]:
        rows = sorted(self.rows(), key=attrgetter("code"))
        return [p for p in rows if (show_inactive or p.active) and (after_code is None or p.code > after_code)][:limit]


class FakePolicy(FakeRepository[str, tuple[approval.Policy, datetime]]):
    def __init__(self, at: datetime) -> None:
        super().__init__(key=lambda _row: "policy")
        self.seed((DEFAULT_POLICY, at))

    def get(self) -> tuple[approval.Policy, datetime]:
        return super().get("policy")

    def replace(self, policy: approval.Policy, now: datetime) -> None:
        self.save((policy, now))


class FakeSamplesUnitOfWork(FakeUnitOfWork):
    def __init__(self, now: datetime) -> None:
        super().__init__(encoder=protomap.event_to_proto)
        self.org = FakeOrg()
        self.feedback = FakeFeedback()
        self.requests = FakeRequests(self)
        self.products = FakeProducts()
        self.policy = FakePolicy(now)
