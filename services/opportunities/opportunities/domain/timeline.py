"""A customer's deals as timeline items (ListCustomerTimeline): what each recorded fact reads as in a list.

The facts come from the deal, its stays in stages, its activities and tasks and its ERP order; the order and the
page token are the kit's (``shangji_kit.timeline_token``), shared with the other services' timelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shangji_kit.timeline_token import Item, contact_kind_name

SOURCE = "opportunities"

REGISTERED = "opportunity_registered"
STAGE_CHANGED = "stage_changed"
WON = "opportunity_won"
LOST = "opportunity_lost"
REOPENED = "opportunity_reopened"
ACTIVITY = "activity"
TASK_CREATED = "task_created"
TASK_COMPLETED = "task_completed"
ERP_ORDER = "erp_order"


@dataclass(frozen=True)
class TimelineFact:
    """One row of the timeline query: ``subject`` and ``detail`` mean what the kind says (``title_of``)."""

    kind: str
    resource: str
    event_time: datetime
    actor_id: str | None
    opportunity_id: str
    lead_id: str | None
    deal_title: str
    subject: str
    detail: str
    summary: str


def title_of(fact: TimelineFact) -> str:
    """One line for a list, in the words of the data (stage names as the pipeline calls them)."""
    deal = fact.deal_title
    if fact.kind == REGISTERED:
        return f"商机报备: {deal}"
    if fact.kind == STAGE_CHANGED:
        return f"阶段: {fact.subject} → {fact.detail}"
    if fact.kind == WON:
        return f"赢单: {deal}"
    if fact.kind == LOST:
        return f"输单: {deal}"
    if fact.kind == REOPENED:
        return f"重新打开: {deal} ({fact.subject} → {fact.detail})"
    if fact.kind == ACTIVITY:
        return f"{contact_kind_name(fact.subject)}: {deal}"
    if fact.kind == TASK_CREATED:
        return f"新任务: {fact.subject}"
    if fact.kind == TASK_COMPLETED:
        return f"任务完成: {fact.subject}"
    if fact.kind == ERP_ORDER:
        return f"ERP 订单 {fact.subject}: {deal}"
    return deal


def item_of(fact: TimelineFact) -> Item:
    return Item(source=SOURCE, kind=fact.kind, resource=fact.resource, title=title_of(fact), summary=fact.summary,
                actor=f"users/{fact.actor_id}" if fact.actor_id else "", event_time=fact.event_time,
                opportunity=f"opportunities/{fact.opportunity_id}",
                lead=f"leads/{fact.lead_id}" if fact.lead_id else "")
