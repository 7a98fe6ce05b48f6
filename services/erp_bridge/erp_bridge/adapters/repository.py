"""Jobs and mapping tables on the unit of work's connection (Core statements)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from erp_bridge.adapters.orm import customer_mappings, jobs, org, product_mappings
from erp_bridge.domain.model import CustomerMapping, Job, OrderLine, OrderRequest, ProductMapping
from shangji_kit.org_projection import OrgProjection


def request_to_json(request: OrderRequest) -> dict:
    return {
        "reference": request.reference, "source_kind": request.source_kind, "source": request.source,
        "customer_key": request.customer_key, "customer_name": request.customer_name,
        "currency": request.currency, "cost_centre": request.cost_centre, "recipient": request.recipient,
        "phone": request.phone, "address": request.address, "description": request.description,
        "lines": [{"product": x.product, "quantity": str(x.quantity), "unit_price": str(x.unit_price),
                   "description": x.description} for x in request.lines],
    }


def request_from_json(data: dict) -> OrderRequest:
    lines = tuple(OrderLine(product=x["product"], quantity=Decimal(x["quantity"]),
                            unit_price=Decimal(x["unit_price"]), description=x.get("description", ""))
                  for x in data["lines"])
    fields = {k: v for k, v in data.items() if k != "lines"}
    return OrderRequest(lines=lines, **fields)


def _job(row) -> Job:
    return Job(id=str(row.id), reference=row.reference, source_kind=row.source_kind, source=row.source,
               request=request_from_json(row.payload), state=row.state, attempts=row.attempts,
               next_attempt_time=row.next_attempt_time, erp_order_number=row.erp_order_number,
               erp_state=row.erp_state, last_error=row.last_error, create_time=row.create_time,
               update_time=row.update_time)


class JobRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, job: Job) -> bool:
        """False when a job for this reference exists already (ON CONFLICT: race-free)."""
        stmt = pg.insert(jobs).values(
            id=job.id, reference=job.reference, source_kind=job.source_kind, source=job.source,
            payload=request_to_json(job.request), state=job.state, attempts=job.attempts,
            next_attempt_time=job.next_attempt_time, erp_order_number=job.erp_order_number,
            erp_state=job.erp_state, last_error=job.last_error, create_time=job.create_time,
            update_time=job.update_time,
        ).on_conflict_do_nothing(index_elements=[jobs.c.reference]).returning(jobs.c.id)
        return self.session.execute(stmt).first() is not None

    def revive(self, job: Job) -> bool:
        """A dead-lettered job of the same reference takes this newer request and is pending again with a fresh
        budget (a deal won again with its lines fixed); False when the job is pending or confirmed."""
        stmt = (sa.update(jobs).where(jobs.c.reference == job.reference, jobs.c.state == "dead_letter")
                .values(payload=request_to_json(job.request), state="pending", attempts=0,
                        next_attempt_time=job.next_attempt_time, last_error="", update_time=job.update_time)
                .returning(jobs.c.id))
        return self.session.execute(stmt).first() is not None

    def lock_pending(self, reference: str) -> Job | None:
        """The pending job of ``reference``, row-locked for this transaction; None when it is not pending or
        another worker holds it (SKIP LOCKED: two workers never work one reference)."""
        row = self.session.execute(sa.select(jobs).where(jobs.c.reference == reference, jobs.c.state == "pending")
                                   .with_for_update(skip_locked=True)).first()
        return _job(row) if row else None

    def lock_next_due(self, now: datetime) -> Job | None:
        row = self.session.execute(
            sa.select(jobs).where(jobs.c.state == "pending", jobs.c.next_attempt_time <= now)
            .order_by(jobs.c.next_attempt_time).limit(1).with_for_update(skip_locked=True)).first()
        return _job(row) if row else None

    def save(self, job: Job) -> None:
        self.session.execute(sa.update(jobs).where(jobs.c.id == job.id).values(
            state=job.state, attempts=job.attempts, next_attempt_time=job.next_attempt_time,
            erp_order_number=job.erp_order_number, erp_state=job.erp_state, last_error=job.last_error,
            update_time=job.update_time))

    def get(self, job_id: str) -> Job | None:
        row = self.session.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        return _job(row) if row else None

    def by_reference(self, reference: str) -> Job | None:
        row = self.session.execute(sa.select(jobs).where(jobs.c.reference == reference)).first()
        return _job(row) if row else None

    def page(self, limit: int, after: tuple[datetime, str] | None, state: str | None) -> list[Job]:
        """Newest first (create_time, id descending), keyset after ``after``."""
        stmt = sa.select(jobs)
        if state:
            stmt = stmt.where(jobs.c.state == state)
        if after is not None:
            stmt = stmt.where(sa.tuple_(jobs.c.create_time, sa.cast(jobs.c.id, sa.Text))
                              < sa.tuple_(sa.literal(after[0]), sa.literal(after[1])))
        stmt = stmt.order_by(jobs.c.create_time.desc(), sa.cast(jobs.c.id, sa.Text).desc()).limit(limit)
        return [_job(r) for r in self.session.execute(stmt)]

    def all(self, states: tuple[str, ...] | None = None) -> list[Job]:
        stmt = sa.select(jobs).order_by(jobs.c.create_time, jobs.c.id)
        if states:
            stmt = stmt.where(jobs.c.state.in_(states))
        return [_job(r) for r in self.session.execute(stmt)]

    def lock_dead_letters(self, ids: list[str] | None) -> list[Job]:
        stmt = sa.select(jobs).where(jobs.c.state == "dead_letter").order_by(jobs.c.create_time).with_for_update()
        if ids is not None:
            stmt = stmt.where(jobs.c.id.in_(ids))
        return [_job(r) for r in self.session.execute(stmt)]


class MappingRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def products(self, codes: list[str]) -> dict[str, str]:
        rows = self.session.execute(sa.select(product_mappings.c.product, product_mappings.c.erp_product_code)
                                    .where(product_mappings.c.product.in_(codes)))
        return {r.product: r.erp_product_code for r in rows}

    def upsert_product(self, mapping: ProductMapping) -> None:
        stmt = pg.insert(product_mappings).values(product=mapping.product, erp_product_code=mapping.erp_product_code,
                                                  update_time=mapping.update_time)
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=[product_mappings.c.product],
            set_={"erp_product_code": stmt.excluded.erp_product_code, "update_time": stmt.excluded.update_time}))

    def delete_product(self, product: str) -> bool:
        return self.session.execute(sa.delete(product_mappings).where(product_mappings.c.product == product)
                                    ).rowcount > 0

    def product_page(self, limit: int, after: str) -> list[ProductMapping]:
        rows = self.session.execute(sa.select(product_mappings).where(product_mappings.c.product > after)
                                    .order_by(product_mappings.c.product).limit(limit))
        return [ProductMapping(r.product, r.erp_product_code, r.update_time) for r in rows]

    def customer(self, customer: str) -> CustomerMapping | None:
        r = self.session.execute(sa.select(customer_mappings).where(customer_mappings.c.customer == customer)).first()
        return CustomerMapping(r.customer, r.erp_party_code, r.derived, r.update_time) if r else None

    def upsert_customer(self, mapping: CustomerMapping, *, keep_existing: bool = False) -> None:
        stmt = pg.insert(customer_mappings).values(customer=mapping.customer, erp_party_code=mapping.erp_party_code,
                                                   derived=mapping.derived, update_time=mapping.update_time)
        if keep_existing:
            self.session.execute(stmt.on_conflict_do_nothing(index_elements=[customer_mappings.c.customer]))
            return
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=[customer_mappings.c.customer],
            set_={"erp_party_code": stmt.excluded.erp_party_code, "derived": stmt.excluded.derived,
                  "update_time": stmt.excluded.update_time}))

    def delete_customer(self, customer: str) -> bool:
        return self.session.execute(sa.delete(customer_mappings).where(customer_mappings.c.customer == customer)
                                    ).rowcount > 0

    def customer_page(self, limit: int, after: str) -> list[CustomerMapping]:
        rows = self.session.execute(sa.select(customer_mappings).where(customer_mappings.c.customer > after)
                                    .order_by(customer_mappings.c.customer).limit(limit))
        return [CustomerMapping(r.customer, r.erp_party_code, r.derived, r.update_time) for r in rows]


class OrgRepository(OrgProjection):
    """Teams' organisation, read only to decide who may call the API (the kit's projection)."""

    def __init__(self, session: sa.Connection) -> None:
        super().__init__(session, org)

    def is_operator(self, user_id: str) -> bool:
        """sales ops or admin, and active."""
        return self.viewer(user_id).sees_everything
