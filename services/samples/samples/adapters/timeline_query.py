"""A customer's sample timeline in one SQL statement: the requests the viewer may see, each one's submission,
approval steps, withdrawal, ERP order, shipment, delivery and feedback, as one union read newest first from after the
page token's (time, key)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from samples.adapters.orm import feedback, sample_requests
from samples.adapters.repository import visible_requests
from samples.domain import model, timeline
from samples.domain.timeline import TimelineFact
from shangji_kit import timeline_sql, timeline_token, visibility

_TEXT = sa.Text
_TIME = sa.DateTime(timezone=True)


def _statement(viewer: visibility.Viewer, after: bool) -> sa.Select:
    r = sample_requests
    reqs = (sa.select(r.c.id, r.c.opportunity_id, r.c.requester_id, r.c.create_time, r.c.update_time, r.c.state,
                      r.c.purpose, r.c.total_quantity, r.c.steps, r.c.shipment, r.c.erp_order_number,
                      r.c.erp_order_time)
            .where(r.c.customer == sa.bindparam("customer", type_=_TEXT), visible_requests(viewer)).cte("reqs"))
    name = sa.func.concat("sampleRequests/", reqs.c.id)
    empty = sa.literal("", _TEXT)

    def part(kind, time, actor, subject, summary, source=reqs, resource=name) -> sa.Select:
        return sa.select(
            (kind if isinstance(kind, sa.ColumnElement) else sa.literal(kind, _TEXT)).label("kind"),
            resource.label("resource"), time.label("event_time"), sa.cast(actor, _TEXT).label("actor_id"),
            sa.cast(reqs.c.opportunity_id, _TEXT).label("opportunity_id"), reqs.c.total_quantity,
            subject.label("subject"), summary.label("summary")).select_from(source)

    requested = part(timeline.REQUESTED, reqs.c.create_time, reqs.c.requester_id, empty, reqs.c.purpose)
    step = sa.func.jsonb_array_elements(reqs.c.steps).table_valued(sa.column("value", pg.JSONB)).lateral("step")
    outcome = step.c.value["outcome"].astext
    decided = part(sa.case((outcome == model.STEP_APPROVED, timeline.APPROVED), else_=timeline.REJECTED),
                   sa.cast(step.c.value["decide_time"].astext, _TIME), step.c.value["approver_id"].astext,
                   step.c.value["tier"].astext, sa.func.coalesce(step.c.value["comment"].astext, ""),
                   source=reqs.join(step, sa.true())
                   ).where(outcome.in_([model.STEP_APPROVED, model.STEP_REJECTED]))
    # A withdrawn request changes no more: its last change is the withdrawal.
    withdrawn = part(timeline.WITHDRAWN, reqs.c.update_time, reqs.c.requester_id, empty, empty
                     ).where(reqs.c.state == model.WITHDRAWN)
    ordered = part(timeline.ERP_ORDER, reqs.c.erp_order_time, sa.null(), reqs.c.erp_order_number, empty
                   ).where(reqs.c.erp_order_number != "", reqs.c.erp_order_time.is_not(None))
    shipment = reqs.c.shipment
    shipped = part(timeline.SHIPPED, sa.cast(shipment["ship_time"].astext, _TIME), sa.null(),
                   sa.func.concat_ws(" ", shipment["courier"].astext, shipment["tracking_number"].astext), empty
                   ).where(shipment["ship_time"].astext.is_not(None))
    delivered = part(timeline.DELIVERED, sa.cast(shipment["deliver_time"].astext, _TIME), sa.null(), empty, empty
                     ).where(shipment["deliver_time"].astext.is_not(None))
    f = feedback
    raised = part(timeline.FEEDBACK, f.c.create_time, f.c.raised_by, f.c.summary, f.c.detail,
                  source=reqs.join(f, f.c.request_id == reqs.c.id),
                  resource=sa.func.concat("sampleRequests/", reqs.c.id, "/feedback/", f.c.id))

    items = sa.union_all(requested, decided, withdrawn, ordered, shipped, delivered, raised).subquery("items")
    return timeline_sql.page_statement(items, timeline.SOURCE, after)


class TimelineQuery:
    """Reads a customer's sample timeline."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def page(self, customer: str, viewer: visibility.Viewer, after: timeline_token.Cursor | None, limit: int
             ) -> list[TimelineFact]:
        """Up to ``limit`` facts after ``after``, in timeline order, from the requests ``viewer`` may see of
        ``customer`` ("customers/{id}")."""
        params = {"customer": customer, "limit": limit, **timeline_sql.after_params(after)}
        rows = self.session.execute(_statement(viewer, after is not None), params)
        return [TimelineFact(kind=r.kind, resource=r.resource, event_time=r.event_time, actor_id=r.actor_id,
                             opportunity_id=r.opportunity_id, total_quantity=r.total_quantity,
                             subject=r.subject or "", summary=r.summary or "") for r in rows]
