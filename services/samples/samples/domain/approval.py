"""Approval tiers: which tiers a request needs and who approves each (pure rules, no I/O).

A policy is an ordered list of tiers ``{name, max_total_quantity, max_estimated_cost, approver_role}``;
either limit may be unbounded (None), and the last tier must be unbounded in both, so every request is
covered. A request needs every tier from the first up to the first tier whose limits cover its total
quantity AND its estimated cost (a limit is inclusive: 10 units are covered by "up to 10").

Approvers come from the requester's department chain, own department first, then upward:
- in a department, its head counts first when active and holding the tier's role (or when the role is
  the pseudo-role ``department_head``); then the department's other active members holding the role,
  by user id (a stable choice). ``department_head`` means the head only;
- the requester never approves their own request;
- each tier continues the walk from the department above the one where the previous tier's approver
  was found, so successive tiers climb the chain (manager, then director, then VP) and nobody
  approves twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from shangji_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument

DEPARTMENT_HEAD = "department_head"
DEFAULT_CURRENCY = "CNY"
NAME_LIMIT = 60


@dataclass(frozen=True)
class Tier:
    name: str
    max_total_quantity: int | None
    max_estimated_cost: Decimal | None
    approver_role: str

    def covers(self, total_quantity: int, estimated_cost: Decimal, currency: str, policy_currency: str) -> bool:
        if self.max_total_quantity is not None and total_quantity > self.max_total_quantity:
            return False
        if self.max_estimated_cost is None:
            return True
        # A cost limit in another currency than the request's cannot be compared: it does not cover.
        return currency == policy_currency and estimated_cost <= self.max_estimated_cost


@dataclass(frozen=True)
class Policy:
    tiers: tuple[Tier, ...]
    currency: str = DEFAULT_CURRENCY


# Amounts are NUMERIC(18, 4): 14 digits before the point.
MAX_DECIMAL = Decimal(10) ** 14


def parse_decimal(text: str, field: str, *, places: int = 4) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise InvalidArgument.field(field, f"{text!r} is not a decimal number") from exc
    if not value.is_finite() or value < 0:
        raise InvalidArgument.field(field, "must be a non-negative number")
    if -value.as_tuple().exponent > places:
        raise InvalidArgument.field(field, f"at most {places} decimal places")
    if value >= MAX_DECIMAL:
        raise InvalidArgument.field(field, f"must be below {MAX_DECIMAL:,.0f}")
    return value


def parse_currency(text: str, field: str) -> str:
    code = (text or DEFAULT_CURRENCY).strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise InvalidArgument.field(field, f"an ISO 4217 code like CNY, got {text!r}")
    return code


@dataclass(frozen=True)
class TierInput:
    name: str
    max_total_quantity: int | None
    max_estimated_cost: str
    approver_role: str


def validate_policy(tiers: Sequence[TierInput], currency: str, prefix: str = "policy") -> Policy:
    """The policy, or INVALID_ARGUMENT naming every bad field (``policy.tiers[2].max_estimated_cost``)."""
    violations: list[FieldViolation] = []
    try:
        currency = parse_currency(currency, f"{prefix}.currency")
    except InvalidArgument as exc:
        violations += exc.violations
    if not tiers:
        violations.append(FieldViolation(f"{prefix}.tiers", "at least one tier is required"))
    parsed: list[Tier] = []
    seen: set[str] = set()
    for i, t in enumerate(tiers):
        at = f"{prefix}.tiers[{i}]"
        name = t.name.strip()
        if not name or len(name) > NAME_LIMIT:
            violations.append(FieldViolation(f"{at}.name", f"required, at most {NAME_LIMIT} characters"))
        elif name in seen:
            violations.append(FieldViolation(f"{at}.name", f"{name!r} is used by an earlier tier"))
        seen.add(name)
        if not t.approver_role.strip():
            violations.append(FieldViolation(f"{at}.approver_role", "required: a teams role or department_head"))
        if t.max_total_quantity is not None and t.max_total_quantity <= 0:
            violations.append(FieldViolation(f"{at}.max_total_quantity", "must be positive (unset: no limit)"))
        cost = None
        if t.max_estimated_cost.strip():
            try:
                cost = parse_decimal(t.max_estimated_cost, f"{at}.max_estimated_cost")
            except InvalidArgument as exc:
                violations += exc.violations
        parsed.append(Tier(name, t.max_total_quantity, cost, t.approver_role.strip()))
    if parsed:
        last = parsed[-1]
        if last.max_total_quantity is not None or last.max_estimated_cost is not None:
            violations.append(FieldViolation(f"{prefix}.tiers[{len(parsed) - 1}]",
                                             "the last tier must have no limits, so that every request is covered"))
    for i in range(1, len(parsed)):
        before, tier = parsed[i - 1], parsed[i]
        if _lower(tier.max_total_quantity, before.max_total_quantity):
            violations.append(FieldViolation(f"{prefix}.tiers[{i}].max_total_quantity",
                                             "must not be below the previous tier's limit"))
        if _lower(tier.max_estimated_cost, before.max_estimated_cost):
            violations.append(FieldViolation(f"{prefix}.tiers[{i}].max_estimated_cost",
                                             "must not be below the previous tier's limit"))
    if violations:
        raise InvalidArgument(violations, reason="INVALID_APPROVAL_POLICY")
    return Policy(tuple(parsed), currency)


def _lower(limit, previous) -> bool:
    """A later tier must allow at least what an earlier one did (None is unbounded)."""
    if previous is None:
        return limit is not None
    return limit is not None and limit < previous


def tiers_needed(policy: Policy, total_quantity: int, estimated_cost: Decimal, currency: str) -> list[Tier]:
    """Every tier from the first up to the first that covers both the quantity and the cost."""
    for i, tier in enumerate(policy.tiers):
        if tier.covers(total_quantity, estimated_cost, currency, policy.currency):
            return list(policy.tiers[:i + 1])
    return list(policy.tiers)


@dataclass(frozen=True)
class Member:
    user_id: str
    roles: frozenset[str]
    active: bool


@dataclass(frozen=True)
class ChainDepartment:
    """One department of the requester's chain: its head (wherever the head's own row sits) and members."""

    id: str
    head: Member | None
    members: tuple[Member, ...]


def _candidate(dept: ChainDepartment, role: str, requester_id: str) -> str | None:
    head = dept.head
    if head and head.active and head.user_id != requester_id and (role == DEPARTMENT_HEAD or role in head.roles):
        return head.user_id
    if role == DEPARTMENT_HEAD:
        return None
    for m in sorted(dept.members, key=lambda m: m.user_id):
        if m.active and m.user_id != requester_id and role in m.roles:
            return m.user_id
    return None


def resolve_approvers(tiers: Sequence[Tier], chain: Sequence[ChainDepartment], requester_id: str
                      ) -> list[tuple[Tier, str]]:
    """(tier, approver id) for each needed tier; FAILED_PRECONDITION NO_APPROVER naming the first tier nobody
    in the chain can approve."""
    start = 0
    resolved: list[tuple[Tier, str]] = []
    for tier in tiers:
        found = None
        for index in range(start, len(chain)):
            approver = _candidate(chain[index], tier.approver_role, requester_id)
            if approver:
                found = (index, approver)
                break
        if found is None:
            raise FailedPrecondition(
                f"nobody in your department chain can approve tier {tier.name!r} (role {tier.approver_role})",
                reason="NO_APPROVER", metadata={"tier": tier.name, "approver_role": tier.approver_role},
                violations=[("NO_APPROVER", f"tier {tier.name}: no active {tier.approver_role} above the requester")])
        start = found[0] + 1
        resolved.append((tier, found[1]))
    return resolved


def replacement_approver(role: str, chain: Sequence[ChainDepartment], requester_id: str, excluded: set[str]
                         ) -> str | None:
    """Who takes over a waiting step whose approver left: the first active holder of the step's role up the
    requester's chain (same rule as at submission) who has no other step of the request (nobody approves
    twice) and is not the one who left; None when nobody can."""
    for dept in chain:
        head = dept.head
        if head and head.active and head.user_id not in excluded and head.user_id != requester_id \
                and (role == DEPARTMENT_HEAD or role in head.roles):
            return head.user_id
        if role == DEPARTMENT_HEAD:
            continue
        for m in sorted(dept.members, key=lambda m: m.user_id):
            if m.active and m.user_id not in excluded and m.user_id != requester_id and role in m.roles:
                return m.user_id
    return None
