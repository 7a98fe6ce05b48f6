"""Orders the bridge asks the ERP for, and the rules of the job that gets each one confirmed exactly once.

A job is keyed by its reference (the source's resource name, e.g. "sampleRequests/{id}"), which is also the
ERP order's reference: the bridge looks an order up by it before creating one, so a crash or a second worker
can never make a second order, and a half-finished create -> quote -> confirm resumes from the ERP's state.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

SAMPLE_REQUEST = "sample_request"
OPPORTUNITY = "opportunity"

PENDING = "pending"
CONFIRMED = "confirmed"
DEAD_LETTER = "dead_letter"
JOB_STATES = (PENDING, CONFIRMED, DEAD_LETTER)

# The ERP's order states, as the port reports them (Tryton's names).
ERP_DRAFT = "draft"
ERP_QUOTATION = "quotation"
ERP_CONFIRMED = "confirmed"
ERP_PROCESSING = "processing"
ERP_DONE = "done"
ERP_CANCELLED = "cancelled"
ERP_CONFIRMED_STATES = frozenset({ERP_CONFIRMED, ERP_PROCESSING, ERP_DONE})


class ErpUnavailable(Exception):
    """The ERP did not answer, or answered 'try again' (down, timeout, concurrent update): retried with backoff."""


class ErpRejected(Exception):
    """The ERP (or our mapping) refused the order for a reason retrying will not cure: dead letter at once."""


@dataclass(frozen=True)
class OrderLine:
    product: str  # our product code (the job's payload) or the ERP's (what the port receives)
    quantity: Decimal
    unit_price: Decimal
    description: str = ""


@dataclass(frozen=True)
class Customer:
    """Who the order is for. ``key`` is ours ("customers/{id}", or "company:<name>" when there is no customer
    record); ``party_code`` the ERP party's unique code."""

    key: str
    name: str
    party_code: str
    recipient: str = ""
    phone: str = ""
    address: str = ""


@dataclass(frozen=True)
class OrderRequest:
    """What one event asks the ERP for: a free sales order charged to a cost centre (a sample), or a normal
    sale of a won deal's lines."""

    reference: str
    source_kind: str
    source: str
    customer_key: str
    customer_name: str
    lines: tuple[OrderLine, ...]
    currency: str = "CNY"
    cost_centre: str = ""  # "departments/{id}": the analytic account on every line of a free order
    recipient: str = ""
    phone: str = ""
    address: str = ""
    description: str = ""

    @property
    def free(self) -> bool:
        return self.source_kind == SAMPLE_REQUEST

    def problems(self) -> list[str]:
        """Why the order can never be made from this request (an empty list when it can)."""
        found = []
        if not self.lines:
            found.append("it has no lines" if self.free else
                         "the won deal has no quote lines, so there is nothing to sell; add them and win it again")
        for i, line in enumerate(self.lines):
            if line.quantity <= 0:
                found.append(f"line {i + 1} ({line.product}): quantity must be positive, got {line.quantity}")
            if not line.product:
                found.append(f"line {i + 1}: no product")
        if not self.customer_name and not self.customer_key:
            found.append("no customer")
        if self.free and not self.cost_centre:
            found.append("no cost centre")
        return found


@dataclass(frozen=True)
class ErpOrder:
    """An order as the ERP holds it."""

    erp_id: int
    number: str
    state: str
    reference: str


def next_step(erp_state: str) -> str | None:
    """What to do with an ERP order in ``erp_state``: "quote", "confirm", or None when it is confirmed."""
    if erp_state == ERP_DRAFT:
        return "quote"
    if erp_state == ERP_QUOTATION:
        return "confirm"
    if erp_state in ERP_CONFIRMED_STATES:
        return None
    if erp_state == ERP_CANCELLED:
        raise ErpRejected("the ERP order was cancelled in the ERP; it is not re-created over a user's decision")
    raise ErpRejected(f"the ERP order is in an unknown state {erp_state!r}")


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries; between them an exponential delay with full jitter, capped."""

    max_attempts: int = 8
    base_seconds: float = 2.0
    max_seconds: float = 300.0

    def delay(self, attempts: int, rand: random.Random | None = None) -> timedelta:
        """Wait after the ``attempts``-th failure: uniform in [base, base * 2^(attempts-1)], capped."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        pick = (rand or random).uniform(self.base_seconds, max(self.base_seconds, ceiling))
        return timedelta(seconds=pick)


@dataclass
class Job:
    id: str
    reference: str
    source_kind: str
    source: str
    request: OrderRequest
    state: str = PENDING
    attempts: int = 0
    next_attempt_time: datetime | None = None
    erp_order_number: str = ""
    erp_state: str = ""
    last_error: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
    events: list = field(default_factory=list, compare=False, repr=False)

    def confirmed(self, order: ErpOrder, now: datetime) -> None:
        self.state = CONFIRMED
        self.erp_order_number = order.number
        self.erp_state = order.state
        self.last_error = ""
        self.next_attempt_time = None
        self.update_time = now
        self.events.append(OrderConfirmed(self, now))

    def failed(self, error: str, now: datetime, policy: RetryPolicy, *, permanent: bool = False,
               rand: random.Random | None = None) -> None:
        """One failed attempt: try again later, or dead-letter (budget spent, or a failure retrying cannot cure)."""
        self.attempts += 1
        self.last_error = error[:2000]
        self.update_time = now
        if permanent or self.attempts >= policy.max_attempts:
            self.state = DEAD_LETTER
            self.next_attempt_time = None
            self.events.append(OrderDeadLettered(self, now))
        else:
            self.next_attempt_time = now + policy.delay(self.attempts, rand)

    def retry(self, now: datetime) -> None:
        """Back in the queue with a fresh budget (after a dead letter's cause was fixed)."""
        self.state = PENDING
        self.attempts = 0
        self.next_attempt_time = now
        self.update_time = now


@dataclass(frozen=True)
class OrderConfirmed:
    job: Job
    time: datetime


@dataclass(frozen=True)
class OrderDeadLettered:
    job: Job
    time: datetime


# --- customers -------------------------------------------------------------------------------------------

def customer_key(customer: str, company: str) -> str:
    """Ours: the customer record when there is one, else the company name (folded)."""
    if customer:
        return customer
    return "company:" + fold(company)


def derived_party_code(key: str) -> str:
    """The ERP party code the bridge gives a customer nobody mapped: stable, unique, readable where it can be."""
    if key.startswith("customers/"):
        return "SJ-" + key.removeprefix("customers/")
    return "SJC-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True)
class ProductMapping:
    product: str
    erp_product_code: str
    update_time: datetime | None = None


@dataclass(frozen=True)
class CustomerMapping:
    customer: str  # "customers/{id}" or "company:<folded name>"
    erp_party_code: str
    derived: bool = False
    update_time: datetime | None = None


def unmapped_products(request: OrderRequest, mappings: dict[str, str]) -> list[str]:
    return sorted({line.product for line in request.lines if line.product not in mappings})


def to_erp_lines(request: OrderRequest, mappings: dict[str, str]) -> tuple[OrderLine, ...]:
    """The request's lines in the ERP's product codes; a free order's prices are zero whatever was sent."""
    return tuple(OrderLine(product=mappings[line.product], quantity=line.quantity,
                           unit_price=Decimal(0) if request.free else line.unit_price,
                           description=line.description) for line in request.lines)


@dataclass(frozen=True)
class Mismatch:
    reference: str
    ours: str
    erp: str
    detail: str


def reconcile(job: Job, order: ErpOrder | None) -> Mismatch | None:
    """A difference between what we recorded for a job and what the ERP holds, if any."""
    if job.state == CONFIRMED:
        if order is None:
            return Mismatch(job.reference, job.state, "missing", "we recorded a confirmed order the ERP does not have")
        if order.state not in ERP_CONFIRMED_STATES:
            return Mismatch(job.reference, job.state, order.state, "we recorded it confirmed; the ERP says otherwise")
        if order.number != job.erp_order_number:
            return Mismatch(job.reference, job.state, order.state,
                            f"order number differs: ours {job.erp_order_number}, ERP {order.number}")
        return None
    if job.state == DEAD_LETTER and order is not None and order.state in ERP_CONFIRMED_STATES:
        return Mismatch(job.reference, job.state, order.state, "dead-lettered here but confirmed in the ERP")
    return None
