"""A deal's audit trail: what a change did to its fields, as text, old and new. Plain Python.

A deal's fields are read as a snapshot (field name -> text) when it is loaded and again when it is saved; the
difference is the change recorded. Diffing the two states, rather than having each write path say what it changed,
means a write path cannot forget a field or the trail as a whole."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from shangji_kit import names

if TYPE_CHECKING:
    from opportunities.domain.model import Opportunity

UPDATE, STAGE, WIN, LOSE, REOPEN = "update", "stage", "win", "lose", "reopen"
REASSIGN, HANDOVER, ARBITRATE, ASSIGN, MIGRATE = "reassign", "handover", "arbitrate", "assign", "migrate"

Snapshot = Mapping[str, str]


@dataclass(frozen=True)
class Cause:
    """Why a deal is being saved: the kind of change (``UPDATE``, ``STAGE`` ...), who made it (None: the system)
    and the reason they gave."""

    kind: str
    actor_id: str | None
    reason: str = ""


@dataclass(frozen=True)
class FieldChange:
    field: str
    old_value: str
    new_value: str


@dataclass(frozen=True)
class Change:
    """One entry of a deal's audit trail."""

    id: str
    opportunity_id: str
    actor_id: str | None
    change_time: datetime
    kind: str
    changes: tuple[FieldChange, ...]
    reason: str = ""

    @property
    def name(self) -> str:
        return f"opportunities/{self.opportunity_id}/changes/{self.id}"

    @property
    def opportunity_name(self) -> str:
        return f"opportunities/{self.opportunity_id}"


@dataclass(frozen=True)
class OpportunityChanged:
    """The event of one audit-trail entry."""

    change: Change


def _decimal(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def _list(values: Iterable[object]) -> str:
    """A list as a JSON array ("" when empty): a product line may itself hold a comma, so joining would be
    ambiguous."""
    items = list(values)
    return json.dumps(items, ensure_ascii=False) if items else ""


def _resource(collection: str, id_: str | None) -> str:
    return names.format(collection, id_) if id_ else ""


def snapshot(o: Opportunity) -> dict[str, str]:
    """The deal's audited fields as text, named as the Opportunity message names them ("" for none). Bookkeeping
    that moves on every write (version, update time, stage entry time) is left out: it is not a change of content."""
    return {
        "title": o.title,
        "customer_company": o.customer_company,
        "owner": _resource("users", o.owner_id),
        "stage": o.stage_key,
        "pipeline_version": str(o.pipeline_version),
        "amount": "" if o.amount is None else f"{o.amount:.2f}",
        "currency": o.currency,
        "expected_close_date": o.expected_close_date.isoformat() if o.expected_close_date else "",
        "probability": str(o.effective_probability),
        "probability_note": o.probability_note,
        "checklist": _list(o.checklist),
        "product_lines": _list(o.product_lines),
        "customer": _resource("customers", o.customer_id),
        "difficulty": _decimal(o.difficulty),
        "quote_lines": _list({"product": q.product, "quantity": _decimal(q.quantity),
                              "unit_price": _decimal(q.unit_price), "description": q.description}
                             for q in o.quote_lines),
        "win_date": o.win_date.isoformat() if o.win_date else "",
        "lost_reason": o.lost_reason,
        "lost_competitor": o.lost_competitor,
        "registration_state": o.registration_state.upper(),
        "collides_with": _resource("opportunities", o.collides_with),
        "arbiter": _resource("users", o.arbiter_id),
        "arbitration_note": o.arbitration_note,
    }


def diff(before: Snapshot, after: Snapshot) -> tuple[FieldChange, ...]:
    """The fields whose text differs, in ``after``'s field order; a field one side lacks counts as ""."""
    fields = list(after) + [f for f in before if f not in after]
    return tuple(FieldChange(f, before.get(f, ""), after.get(f, "")) for f in fields
                 if before.get(f, "") != after.get(f, ""))


def record(change_id: str, opportunity_id: str, before: Snapshot, after: Snapshot, cause: Cause,
           change_time: datetime) -> Change | None:
    """The trail entry for a deal saved from ``before`` to ``after``; None when no audited field changed."""
    changes = diff(before, after)
    if not changes:
        return None
    return Change(id=change_id, opportunity_id=opportunity_id, actor_id=cause.actor_id, change_time=change_time,
                  kind=cause.kind, changes=changes, reason=cause.reason)
