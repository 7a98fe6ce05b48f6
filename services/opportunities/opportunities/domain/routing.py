"""Routing rules: which rep owns a routed registration. Plain Python.

Rules are data (table ``routing_rules``), tried in ``position`` order. A rule names any of: a region (territory),
a product line, an amount band ``[amount_min, amount_max)``; it matches when every condition it names holds, and
its ``owner_id`` then owns the deal. When the first rule that cannot be decided needs a field the deal lacks
(region, product lines, amount), the deal goes to the assignment queue (no owner, UNASSIGNED): a later rule must
not win only because an earlier, more specific one could not be read. No rule matching at all also queues it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from shangji_kit.errors import FieldViolation, InvalidArgument


def _key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True)
class RoutingRule:
    position: int
    owner_id: str
    region: str = ""
    product_line: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None

    def __post_init__(self) -> None:
        v = []
        if not (self.region.strip() or self.product_line.strip() or self.amount_min is not None
                or self.amount_max is not None):
            v.append(FieldViolation(f"rules[{self.position}]", "a rule needs a region, a product line or an "
                                                               "amount band"))
        if self.amount_min is not None and self.amount_max is not None and self.amount_min >= self.amount_max:
            v.append(FieldViolation(f"rules[{self.position}].amount_max", "must be above amount_min"))
        if v:
            raise InvalidArgument(v)

    def needs(self) -> tuple[str, ...]:
        out = []
        if self.region.strip():
            out.append("region")
        if self.product_line.strip():
            out.append("product_lines")
        if self.amount_min is not None or self.amount_max is not None:
            out.append("amount")
        return tuple(out)


@dataclass(frozen=True)
class Route:
    """Where a deal goes: ``owner_id`` (by ``rule``), or the queue (owner None) with the ``missing`` fields."""

    owner_id: str | None
    rule: int | None = None
    missing: tuple[str, ...] = ()


def route(rules: Iterable[RoutingRule], region: str, product_lines: Iterable[str], amount: Decimal | None) -> Route:
    lines = {_key(p) for p in product_lines if p.strip()}
    region_key = _key(region)
    for rule in sorted(rules, key=lambda r: r.position):
        have = {"region": bool(region_key), "product_lines": bool(lines), "amount": amount is not None}
        missing = tuple(f for f in rule.needs() if not have[f])
        if missing:
            return Route(owner_id=None, missing=missing)
        if rule.region.strip() and _key(rule.region) != region_key:
            continue
        if rule.product_line.strip() and _key(rule.product_line) not in lines:
            continue
        if rule.amount_min is not None and amount < rule.amount_min:
            continue
        if rule.amount_max is not None and amount >= rule.amount_max:
            continue
        return Route(owner_id=rule.owner_id, rule=rule.position)
    return Route(owner_id=None)
