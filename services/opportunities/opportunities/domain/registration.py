"""Registration (报备) and collision protection (撞单). Plain Python.

A deal *holds* its customer for the product lines it names while it is registered (``active``), in an open stage,
and younger than the company's protection period. Registering a deal for the same customer (by normalised name)
and a shared product line while a deal of *another* owner holds it is a collision: refused, or queued for a
manager to arbitrate, as the company's ``collision_mode`` says.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from shangji_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument

ACTIVE, PENDING_ARBITRATION, REJECTED = "active", "pending_arbitration", "rejected"
UNASSIGNED = "unassigned"  # routed, no rule decided: waits in the assignment queue without an owner
REFUSE, QUEUE = "refuse", "queue"
COLLISION_MODES = (REFUSE, QUEUE)
APPROVE, REJECT = "approve", "reject"

# Legal-form suffixes dropped from a customer's name (longest first, one only): "华东精密机械有限公司" and
# "华东精密机械" are the same customer.
_SUFFIXES = ("股份有限公司", "集团有限公司", "有限责任公司", "有限公司", "集团公司", "公司", "corporation",
             "limited", "coltd", "corp", "ltd", "inc", "co")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def customer_key(name: str) -> str:
    """The name collisions compare: NFKC (full-width letters and digits folded), case-folded, without spaces or
    punctuation, without one legal-form suffix. Migration 0004 holds a frozen copy; change both or neither."""
    text = _NOT_WORD.sub("", unicodedata.normalize("NFKC", name).casefold())
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def product_line_key(line: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", line).casefold().split())


@dataclass(frozen=True)
class RegistrationSettings:
    """The company's registration settings (one row); ``version`` is the etag, ``updated_by`` None until someone
    changes them (the migration's defaults)."""

    protection_days: int = 90
    collision_mode: str = REFUSE
    # Amount above which a deal raises a big-deal alert; None: no big-deal alerts.
    big_deal_threshold: Decimal | None = None
    version: int = 1
    update_time: datetime | None = None
    updated_by: str | None = None

    def __post_init__(self) -> None:
        if self.collision_mode not in COLLISION_MODES:
            raise ValueError(f"collision_mode must be one of {COLLISION_MODES}")
        if self.protection_days < 0:
            raise ValueError("protection_days must not be negative")

    @property
    def etag(self) -> str:
        return str(self.version)


@dataclass(frozen=True)
class Holding:
    """An existing deal for the same customer key, as far as collisions need it."""

    opportunity_id: str
    owner_id: str
    product_lines: tuple[str, ...]
    create_time: datetime
    is_open: bool
    registration_state: str = ACTIVE


@dataclass(frozen=True)
class Collision:
    holding: Holding
    shared_lines: tuple[str, ...]
    protected_until: datetime

    @property
    def holder(self) -> str:
        return f"users/{self.holding.owner_id}"

    @property
    def since(self) -> datetime:
        return self.holding.create_time

    def metadata(self, ask: tuple[str, ...] = ()) -> dict[str, str]:
        """What the refused registrant is told (the rule in the README): that a conflict exists, who holds the
        customer, since when, until when, which product lines, and whom to ask (``ask``: their own managers, nearest
        first, as users/{id}; "sales_ops" when they have none). Never the holding deal's name: they may not see it."""
        return {"holder": self.holder, "since": self.since.isoformat(),
                "protected_until": self.protected_until.isoformat(), "product_lines": ",".join(self.shared_lines),
                "ask": ",".join(f"users/{m}" for m in ask) or "sales_ops"}

    def error(self, customer_company: str, ask: tuple[str, ...] = ()) -> FailedPrecondition:
        lines = ", ".join(self.shared_lines)
        whom = ", ".join(f"users/{m}" for m in ask) or "sales ops"
        return FailedPrecondition(
            f"{customer_company} ({lines}) is held by {self.holder} since {self.since.isoformat()} "
            f"(protected until {self.protected_until.isoformat()}); ask {whom} to settle it",
            reason="REGISTRATION_COLLISION",
            violations=[("REGISTRATION_COLLISION", f"{self.holder} holds {customer_company} for {lines} since "
                                                   f"{self.since.date().isoformat()}")],
            metadata=self.metadata(ask))


def find_collision(owner_id: str, product_lines: Iterable[str], holdings: Iterable[Holding],
                   settings: RegistrationSettings, now: datetime) -> Collision | None:
    """The earliest holding of another owner that a new deal of ``owner_id`` for these product lines collides with.

    A holding counts while it is registered (``active``: pending and rejected registrations hold nothing), in an
    open stage (won and lost deals release the customer) and younger than ``protection_days`` (``create_time``
    + protection > now). Product lines are compared case- and width-insensitively; a deal without product lines
    holds nothing and collides with nothing (the customer alone is not protected).
    """
    wanted = {product_line_key(p): p for p in product_lines if p.strip()}
    if not wanted:
        return None
    period = timedelta(days=settings.protection_days)
    found: Collision | None = None
    for h in holdings:
        if h.owner_id == owner_id or h.registration_state != ACTIVE or not h.is_open:
            continue
        until = h.create_time + period
        if until <= now:
            continue
        shared = tuple(wanted[k] for k in wanted if k in {product_line_key(p) for p in h.product_lines})
        if not shared:
            continue
        if found is None or (h.create_time, h.opportunity_id) < (found.since, found.holding.opportunity_id):
            found = Collision(holding=h, shared_lines=shared, protected_until=until)
    return found


@dataclass(frozen=True)
class Arbiter:
    """What is known of a caller who asks to arbitrate a queued registration."""

    active: bool
    sees_everything: bool  # sales ops, admins
    manages_registrant: bool  # an active head at or above the registering owner's department
    manages_holder: bool  # ... or above the owner of the deal it collided with


def may_arbitrate(arbiter: Arbiter) -> bool:
    """Sales ops (and admins), or an active manager above either rep; nobody deactivated."""
    return arbiter.active and (arbiter.sees_everything or arbiter.manages_registrant or arbiter.manages_holder)


def check_decision(decision: str) -> str:
    decision = decision.strip().lower()
    if decision not in (APPROVE, REJECT):
        raise InvalidArgument([FieldViolation("decision", "required: APPROVE or REJECT")])
    return decision
