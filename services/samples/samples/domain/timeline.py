"""A customer's sample requests as timeline items (ListCustomerTimeline): what each recorded fact reads as in a list.

The facts come from the request, its approval steps, its ERP order, its shipment and its feedback; the order and the
page token are the kit's (``shangji_kit.timeline_token``), shared with the other services' timelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shangji_kit.timeline_token import Item

SOURCE = "samples"

REQUESTED = "sample_requested"
APPROVED = "sample_approved"
REJECTED = "sample_rejected"
WITHDRAWN = "sample_withdrawn"
ERP_ORDER = "erp_order"
SHIPPED = "sample_shipped"
DELIVERED = "sample_delivered"
FEEDBACK = "sample_feedback"


@dataclass(frozen=True)
class TimelineFact:
    """One row of the timeline query; ``subject`` means what the kind says (``title_of``)."""

    kind: str
    resource: str
    event_time: datetime
    actor_id: str | None
    opportunity_id: str
    total_quantity: int
    subject: str
    summary: str


def title_of(fact: TimelineFact) -> str:
    """One line for a list; ``subject`` is the step's tier, the ERP order number, the courier and tracking number, or
    the feedback's summary."""
    if fact.kind == REQUESTED:
        return f"样品申请: {fact.total_quantity} 件"
    if fact.kind == APPROVED:
        return f"样品审批通过 ({fact.subject})"
    if fact.kind == REJECTED:
        return f"样品申请被驳回 ({fact.subject})"
    if fact.kind == WITHDRAWN:
        return "样品申请已撤回"
    if fact.kind == ERP_ORDER:
        return f"ERP 样品订单 {fact.subject}"
    if fact.kind == SHIPPED:
        return f"样品已发货: {fact.subject}"
    if fact.kind == DELIVERED:
        return "样品已签收"
    if fact.kind == FEEDBACK:
        return f"样品反馈: {fact.subject}"
    return fact.kind


def item_of(fact: TimelineFact) -> Item:
    return Item(source=SOURCE, kind=fact.kind, resource=fact.resource, title=title_of(fact), summary=fact.summary,
                actor=f"users/{fact.actor_id}" if fact.actor_id else "", event_time=fact.event_time,
                opportunity=f"opportunities/{fact.opportunity_id}")
