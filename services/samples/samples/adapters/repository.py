"""Repositories: the samples tables as domain objects (SQLAlchemy Core on the unit of work's connection)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from samples.adapters import request_list
from samples.adapters.orm import approval_policy, feedback, org, products, sample_requests
from samples.domain import approval, model
from shangji_kit import filtering, ordering, visibility
from shangji_kit.list_query import ListQuery
from shangji_kit.org_projection import OrgProjection
from shangji_kit.paging import Page

# --- catalogue and policy --------------------------------------------------------------------------


def _product(row) -> model.Product:
    return model.Product(code=row.code, display_name=row.display_name, unit_cost=row.unit_cost,
                         currency=row.currency, active=row.active, create_time=row.create_time,
                         update_time=row.update_time)


class ProductRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, product: model.Product) -> bool:
        """False when the code is taken."""
        stmt = pg.insert(products).values(
            code=product.code, display_name=product.display_name, unit_cost=product.unit_cost,
            currency=product.currency, active=product.active, create_time=product.create_time,
            update_time=product.update_time).on_conflict_do_nothing().returning(products.c.code)
        return self.session.execute(stmt).first() is not None

    def get(self, code: str, *, for_update: bool = False) -> model.Product | None:
        stmt = sa.select(products).where(products.c.code == code)
        row = self.session.execute(stmt.with_for_update() if for_update else stmt).first()
        return _product(row) if row else None

    def get_many(self, codes: set[str]) -> dict[str, model.Product]:
        rows = self.session.execute(sa.select(products).where(products.c.code.in_(sorted(codes))))
        return {r.code: _product(r) for r in rows}

    def update(self, product: model.Product) -> None:
        self.session.execute(sa.update(products).where(products.c.code == product.code).values(
            display_name=product.display_name, unit_cost=product.unit_cost, currency=product.currency,
            active=product.active, update_time=product.update_time))

    def list(self, limit: int, after_code: str | None, show_inactive: bool) -> list[model.Product]:
        stmt = sa.select(products).order_by(products.c.code).limit(limit)
        if after_code is not None:
            stmt = stmt.where(products.c.code > after_code)
        if not show_inactive:
            stmt = stmt.where(products.c.active)
        return [_product(r) for r in self.session.execute(stmt)]


def tier_to_dict(tier: approval.Tier) -> dict:
    return {"name": tier.name, "max_total_quantity": tier.max_total_quantity,
            "max_estimated_cost": None if tier.max_estimated_cost is None else str(tier.max_estimated_cost),
            "approver_role": tier.approver_role}


def tier_from_dict(d: dict) -> approval.Tier:
    cost = d.get("max_estimated_cost")
    return approval.Tier(name=d["name"], max_total_quantity=d.get("max_total_quantity"),
                         max_estimated_cost=None if cost is None else Decimal(cost), approver_role=d["approver_role"])


class PolicyRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def get(self) -> tuple[approval.Policy, datetime]:
        row = self.session.execute(sa.select(approval_policy)).one()
        return approval.Policy(tuple(tier_from_dict(t) for t in row.tiers), row.currency), row.update_time

    def replace(self, policy: approval.Policy, now: datetime) -> None:
        stmt = pg.insert(approval_policy).values(id=True, currency=policy.currency,
                                                 tiers=[tier_to_dict(t) for t in policy.tiers], update_time=now)
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=[approval_policy.c.id],
            set_={"currency": stmt.excluded.currency, "tiers": stmt.excluded.tiers,
                  "update_time": stmt.excluded.update_time}))


# --- requests --------------------------------------------------------------------------------------

def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _attachment_dict(a: model.Attachment) -> dict:
    return {"file_name": a.file_name, "uri": a.uri, "purpose": a.purpose}


def _attachment(d: dict) -> model.Attachment:
    return model.Attachment(d["file_name"], d["uri"], d["purpose"])


def _row_values(r: model.SampleRequest) -> dict:
    step = r.current_step
    shipment = None
    if r.shipment is not None:
        s = r.shipment
        shipment = {"courier": s.courier, "tracking_number": s.tracking_number, "ship_time": _iso(s.ship_time),
                    "deliver_time": _iso(s.deliver_time), "evidence": [_attachment_dict(a) for a in s.evidence]}
    return {
        "state": r.state,
        "steps": [{"tier": s.tier, "approver_id": s.approver_id, "outcome": s.outcome, "comment": s.comment,
                   "decide_time": _iso(s.decide_time)} for s in r.steps],
        "current_approver_id": step.approver_id if step else None,
        "approver_ids": r.approver_ids,
        "erp_order_number": r.erp_order_number,
        "erp_order_error": r.erp_order_error,
        "erp_order_error_time": r.erp_order_error_time,
        "erp_order_time": r.erp_order_time,
        "shipment": shipment,
        "update_time": r.update_time,
        "version": r.version,
        "owner_id": r.owner_id,
        "owner_change_time": r.owner_change_time,
    }


def _request(row) -> model.SampleRequest:
    s = row.shipment
    return model.SampleRequest(
        id=row.id, opportunity_id=row.opportunity_id, customer_company=row.customer_company, customer=row.customer,
        requester_id=row.requester_id, cost_centre_id=row.cost_centre_id, kind=row.kind, purpose=row.purpose,
        recipient_name=row.recipient_name, recipient_phone=row.recipient_phone, address=row.address,
        wanted_by_date=row.wanted_by_date,
        lines=[model.Line(ln["product"], ln["quantity"], Decimal(ln["unit_cost"]), ln.get("description", ""))
               for ln in row.lines],
        attachments=[_attachment(a) for a in row.attachments], estimated_cost=row.estimated_cost,
        currency=row.currency, total_quantity=row.total_quantity, state=row.state,
        steps=[model.Step(s_["tier"], s_["approver_id"], s_["outcome"], s_.get("comment", ""),
                          _time(s_.get("decide_time"))) for s_ in row.steps],
        create_time=row.create_time, update_time=row.update_time, erp_order_number=row.erp_order_number,
        erp_order_error=row.erp_order_error, erp_order_error_time=row.erp_order_error_time,
        erp_order_time=row.erp_order_time, shipment=None if s is None else model.Shipment(
            s["courier"], s["tracking_number"], _time(s["ship_time"]), _time(s.get("deliver_time")),
            [_attachment(a) for a in s.get("evidence", [])]),
        version=row.version, owner_id=row.owner_id, owner_change_time=row.owner_change_time)


def visible_requests(viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
    """The requests ``viewer`` may see: the kit's rule over the requester and over the owner, and the approvers and
    feedback assignees."""
    assigned = sa.select(feedback.c.request_id).where(feedback.c.assignee_id == viewer.user_id)
    return visibility.visible_clause(
        viewer, org, sample_requests.c.requester_id,
        extra=[sa.literal(viewer.user_id, sa.Text) == sa.any_(sample_requests.c.approver_ids),
               sample_requests.c.id.in_(assigned),
               # The owner sees it as the requester does, and so do the owner's managers: a request that followed
               # its deal to a new rep is that rep's work, followed up by that rep's line.
               visibility.visible_clause(viewer, org, sample_requests.c.owner_id)])


class RequestRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, r: model.SampleRequest) -> None:
        values = {
            "id": r.id, "opportunity_id": r.opportunity_id,
            "customer_company": r.customer_company, "customer": r.customer, "requester_id": r.requester_id,
            "cost_centre_id": r.cost_centre_id, "kind": r.kind, "purpose": r.purpose,
            "recipient_name": r.recipient_name, "recipient_phone": r.recipient_phone, "address": r.address,
            "wanted_by_date": r.wanted_by_date,
            "lines": [{"product": ln.product, "quantity": ln.quantity, "unit_cost": str(ln.unit_cost),
                       "description": ln.description} for ln in r.lines],
            "attachments": [_attachment_dict(a) for a in r.attachments], "estimated_cost": r.estimated_cost,
            "currency": r.currency, "total_quantity": r.total_quantity, "create_time": r.create_time,
            **_row_values(r)}
        self.session.execute(sa.insert(sample_requests).values(**values))

    def _visible(self, viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
        return visible_requests(viewer)

    def get(self, request_id: str, *, for_update: bool = False) -> model.SampleRequest | None:
        stmt = sa.select(sample_requests).where(sample_requests.c.id == request_id)
        row = self.session.execute(stmt.with_for_update() if for_update else stmt).first()
        return _request(row) if row else None

    def get_visible(self, request_id: str, viewer: visibility.Viewer, *, for_update: bool = False
                    ) -> model.SampleRequest | None:
        stmt = sa.select(sample_requests).where(sample_requests.c.id == request_id, self._visible(viewer))
        # FOR UPDATE OF the request only: the visibility subqueries' rows need no lock.
        row = self.session.execute(stmt.with_for_update(of=sample_requests) if for_update else stmt).first()
        return _request(row) if row else None

    def open_ids(self, *, opportunity_id: str | None = None, owner_id: str | None = None) -> list[str]:
        """Ids of the requests not yet ended (rejected, withdrawn, delivered) of a deal or of an owner, in id order
        (one lock order for everyone)."""
        t = sample_requests
        stmt = sa.select(t.c.id).where(t.c.state.not_in(model.TERMINAL)).order_by(t.c.id)
        if opportunity_id is not None:
            stmt = stmt.where(t.c.opportunity_id == opportunity_id)
        if owner_id is not None:
            stmt = stmt.where(t.c.owner_id == owner_id)
        return [str(i) for i in self.session.execute(stmt).scalars()]

    def waiting_for(self, user_id: str) -> list[str]:
        """Ids of the requests whose current step waits for ``user_id``."""
        return list(self.session.execute(sa.select(sample_requests.c.id).where(
            sample_requests.c.current_approver_id == user_id)).scalars())

    def update(self, r: model.SampleRequest, expected_version: int) -> bool:
        result = self.session.execute(sa.update(sample_requests).where(
            sample_requests.c.id == r.id, sample_requests.c.version == expected_version).values(**_row_values(r)))
        return result.rowcount == 1

    def list_visible(self, viewer: visibility.Viewer, query: ListQuery, today: date, *, waiting_for_me: bool,
                     opportunity_id: str | None) -> Page[model.SampleRequest]:
        """One page of the requests ``viewer`` may see (or that wait for them) that pass ``query``'s filter, in its
        order; ``today`` is the company's date (overdue)."""
        order = ordering.ordering(query.order_by, request_list.sort_keys(query.search_terms()))
        return ordering.read_page(self.session, self._listed(viewer, query, today, waiting_for_me, opportunity_id),
                                  order, sample_requests.c.id, query.filter.text, query.page_token, query.limit,
                                  _request)

    def count_lines(self, viewer: visibility.Viewer, query: ListQuery, today: date, *, opportunity_id: str | None
                    ) -> int:
        """The lines of every request ``list_visible`` lists over all its pages (an export's rows)."""
        stmt = self._listed(viewer, query, today, False, opportunity_id)
        return ordering.count_rows(self.session, stmt,
                                   lambda listed: sa.func.greatest(sa.func.jsonb_array_length(listed.c.lines), 1))

    def _listed(self, viewer: visibility.Viewer, query: ListQuery, today: date, waiting_for_me: bool,
                opportunity_id: str | None) -> sa.Select:
        t = sample_requests
        # The current approver always sees the request (extra rule), so waiting_for_me needs no visibility clause.
        mine = t.c.current_approver_id == viewer.user_id if waiting_for_me else self._visible(viewer)
        stmt = sa.select(t).where(mine, filtering.compile_filter(query.filter, request_list.filter_fields(today)))
        if opportunity_id:
            stmt = stmt.where(t.c.opportunity_id == opportunity_id)
        return stmt


# --- feedback --------------------------------------------------------------------------------------

def _feedback(row) -> model.Feedback:
    return model.Feedback(id=row.id, request_id=row.request_id, summary=row.summary, detail=row.detail,
                          assignee_id=row.assignee_id, raised_by=row.raised_by, state=row.state,
                          create_time=row.create_time, update_time=row.update_time, resolution=row.resolution,
                          close_time=row.close_time, version=row.version)


class FeedbackRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, f: model.Feedback) -> None:
        self.session.execute(sa.insert(feedback).values(
            id=f.id, request_id=f.request_id, summary=f.summary, detail=f.detail, assignee_id=f.assignee_id,
            raised_by=f.raised_by, state=f.state, resolution=f.resolution, create_time=f.create_time,
            update_time=f.update_time, close_time=f.close_time, version=f.version))

    def get(self, request_id: str, feedback_id: str) -> model.Feedback | None:
        row = self.session.execute(sa.select(feedback).where(
            feedback.c.request_id == request_id, feedback.c.id == feedback_id).with_for_update()).first()
        return _feedback(row) if row else None

    def update(self, f: model.Feedback, expected_version: int) -> bool:
        result = self.session.execute(sa.update(feedback).where(
            feedback.c.id == f.id, feedback.c.version == expected_version).values(
            summary=f.summary, detail=f.detail, assignee_id=f.assignee_id, state=f.state, resolution=f.resolution,
            update_time=f.update_time, close_time=f.close_time, version=f.version))
        return result.rowcount == 1

    def list(self, request_id: str, limit: int, after: tuple[datetime, str] | None) -> list[model.Feedback]:
        stmt = (sa.select(feedback).where(feedback.c.request_id == request_id)
                .order_by(feedback.c.create_time, feedback.c.id).limit(limit))
        if after is not None:
            stmt = stmt.where(sa.tuple_(feedback.c.create_time, feedback.c.id)
                              > sa.tuple_(after[0], sa.cast(after[1], feedback.c.id.type)))
        return [_feedback(r) for r in self.session.execute(stmt)]


# --- teams' organisation ---------------------------------------------------------------------------

class OrgRepository(OrgProjection):
    """Teams' organisation (the kit's projection and visibility rules) and the requester's department chain
    for approvers."""

    def __init__(self, session: sa.Connection) -> None:
        super().__init__(session, org)

    def chain(self, department_id: str) -> list[approval.ChainDepartment]:
        """The department and those above it, own first, each with its head and its members."""
        d, u = org.departments, org.users
        path = self.session.execute(sa.select(d.c.path).where(d.c.id == department_id)).scalar()
        if path is None:
            return []
        ids = [p for p in path.strip("/").split("/") if p][::-1]
        depts = {r.id: r for r in self.session.execute(sa.select(d).where(d.c.id.in_(ids)))}
        heads = {r.head_id for r in depts.values() if r.head_id}
        users = self.session.execute(sa.select(u).where(sa.or_(u.c.department_id.in_(ids), u.c.user_id.in_(heads))))
        by_id: dict[str, approval.Member] = {}
        members: dict[str, list[approval.Member]] = {i: [] for i in ids}
        for r in users:
            m = approval.Member(r.user_id, frozenset(r.roles or ()), bool(r.active))
            by_id[r.user_id] = m
            if r.department_id in members:
                members[r.department_id].append(m)
        chain = []
        for i in ids:
            row = depts.get(i)
            if row is None:  # an ancestor teams has not told us about yet: nobody to find there
                continue
            chain.append(approval.ChainDepartment(i, by_id.get(row.head_id) if row.head_id else None,
                                                  tuple(members[i])))
        return chain


