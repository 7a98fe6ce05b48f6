"""In-memory erp_bridge storage and ERP for use-case tests (the kit's fakes with the bridge's queries)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from operator import attrgetter

from erp_bridge.adapters import protomap
from erp_bridge.domain import model
from erp_bridge.domain.model import (
    Customer,
    CustomerMapping,
    ErpOrder,
    ErpRejected,
    ErpUnavailable,
    Job,
    OrderLine,
    ProductMapping,
)
from shangji_kit.testing.fakes import FakeOrgProjection, FakeRepository, FakeUnitOfWork


class FakeJobs(FakeRepository[str, Job]):
    def add(self, job: Job) -> bool:
        if any(j.reference == job.reference for j in self.rows()):
            return False
        return super().add(job)

    def _by_reference(self, reference: str) -> Job | None:
        return next((j for j in self.rows() if j.reference == reference), None)

    def revive(self, job: Job) -> bool:
        held = self._by_reference(job.reference)
        if held is None or held.state != model.DEAD_LETTER:
            return False
        self.save(dataclasses.replace(held, request=job.request, state=model.PENDING, attempts=0,
                                      next_attempt_time=job.next_attempt_time, last_error="",
                                      update_time=job.update_time))
        return True

    def lock_pending(self, reference: str) -> Job | None:
        job = self._by_reference(reference)
        return job if job is not None and job.state == model.PENDING else None

    def lock_next_due(self, now: datetime) -> Job | None:
        due = sorted((j for j in self.rows() if j.state == model.PENDING and j.next_attempt_time <= now),
                     key=attrgetter("next_attempt_time"))
        return due[0] if due else None

    def page(self, limit: int, after: tuple[datetime, str] | None, state: str | None) -> list[Job]:
        rows = sorted((j for j in self.rows() if state is None or j.state == state),
                      key=lambda j: (j.create_time, j.id), reverse=True)
        return [j for j in rows if after is None or (j.create_time, j.id) < after][:limit]

    def all(self, states: tuple[str, ...] | None = None) -> list[Job]:
        return [j for j in self.rows() if not states or j.state in states]

    def lock_dead_letters(self, ids: list[str] | None) -> list[Job]:
        return [j for j in self.rows() if j.state == model.DEAD_LETTER and (ids is None or j.id in ids)]


class FakeMappings(FakeRepository[str, object]):
    """Product mappings keyed ``product:<code>``, customer mappings ``customer:<key>``."""

    def __init__(self) -> None:
        super().__init__(key=lambda m: f"product:{m.product}" if isinstance(m, ProductMapping)
                         else f"customer:{m.customer}")

    def products(self, codes: list[str]) -> dict[str, str]:
        return {c: m.erp_product_code for c in codes if (m := self.get(f"product:{c}")) is not None}

    def upsert_product(self, mapping: ProductMapping) -> None:
        self.save(mapping)

    def delete_product(self, product: str) -> bool:
        found = self.get(f"product:{product}") is not None
        self.remove(f"product:{product}")
        return found

    def product_page(self, limit: int, after: str) -> list[ProductMapping]:
        rows = sorted((m for m in self.rows() if isinstance(m, ProductMapping)), key=attrgetter("product"))
        return [m for m in rows if m.product > after][:limit]

    def customer(self, customer: str) -> CustomerMapping | None:
        return self.get(f"customer:{customer}")

    def upsert_customer(self, mapping: CustomerMapping, *, keep_existing: bool = False) -> None:
        if keep_existing and self.customer(mapping.customer) is not None:
            return
        self.save(mapping)

    def delete_customer(self, customer: str) -> bool:
        found = self.customer(customer) is not None
        self.remove(f"customer:{customer}")
        return found

    def customer_page(self, limit: int, after: str) -> list[CustomerMapping]:
        rows = sorted((m for m in self.rows() if isinstance(m, CustomerMapping)), key=attrgetter("customer"))
        return [m for m in rows if m.customer > after][:limit]


class FakeOrg(FakeOrgProjection):
    def is_operator(self, user_id: str) -> bool:
        return self.viewer(user_id).sees_everything


class FakeErpBridgeUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__(encoder=protomap.event_to_proto)
        self.jobs = FakeJobs()
        self.mappings = FakeMappings()
        self.org = FakeOrg()


class FakeErp:
    """An ERP in memory: orders by reference, draft -> quotation -> confirmed. ``down`` makes every call
    ErpUnavailable; ``refuse`` makes creating an order ErpRejected."""

    def __init__(self) -> None:
        self.orders: dict[str, ErpOrder] = {}
        self.parties: dict[str, Customer] = {}
        self.lines: dict[str, tuple[OrderLine, ...]] = {}
        self.down = False
        self.refuse = ""

    def _check(self) -> None:
        if self.down:
            raise ErpUnavailable("the ERP did not answer")

    def upsert_customer(self, customer: Customer) -> int:
        self._check()
        self.parties[customer.party_code] = customer
        return list(self.parties).index(customer.party_code) + 1

    def _create(self, reference: str, lines: tuple[OrderLine, ...]) -> ErpOrder:
        self._check()
        if self.refuse:
            raise ErpRejected(self.refuse)
        order = ErpOrder(erp_id=len(self.orders) + 1, number=f"SO{len(self.orders) + 1:04d}", state=model.ERP_DRAFT,
                         reference=reference)
        self.orders[reference] = order
        self.lines[reference] = lines
        return order

    def create_free_order(self, reference, party, customer, lines, cost_centre, currency) -> ErpOrder:
        return self._create(reference, lines)

    def create_sale_order(self, reference, party, customer, lines, currency) -> ErpOrder:
        return self._create(reference, lines)

    def find_order(self, reference: str) -> ErpOrder | None:
        self._check()
        return self.orders.get(reference)

    def read_order(self, erp_id: int) -> ErpOrder:
        return next(o for o in self.orders.values() if o.erp_id == erp_id)

    def quote(self, order: ErpOrder) -> ErpOrder:
        self._check()
        self.orders[order.reference] = dataclasses.replace(order, state=model.ERP_QUOTATION)
        return self.orders[order.reference]

    def confirm(self, order: ErpOrder) -> ErpOrder:
        self._check()
        self.orders[order.reference] = dataclasses.replace(order, state=model.ERP_CONFIRMED)
        return self.orders[order.reference]
