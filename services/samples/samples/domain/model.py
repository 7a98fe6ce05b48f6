"""Sample requests, their state machine and their feedback (pure rules, no I/O).

States: PENDING_APPROVAL -> (each tier approved in order) APPROVED -> ORDERED (the ERP confirmed the free
order) -> SHIPPED -> DELIVERED; PENDING_APPROVAL -> REJECTED (a rejection ends it) or WITHDRAWN (by the
requester, before the last approval). Every change records the event it causes in ``events``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from shangji_kit.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied

PENDING_APPROVAL = "pending_approval"
APPROVED = "approved"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
ORDERED = "ordered"
SHIPPED = "shipped"
DELIVERED = "delivered"
STATES = (PENDING_APPROVAL, APPROVED, REJECTED, WITHDRAWN, ORDERED, SHIPPED, DELIVERED)
# No state follows these: a request in one no longer follows its deal to a new owner.
TERMINAL = (REJECTED, WITHDRAWN, DELIVERED)

# Why a request changed owner (SampleRequestOwnerChanged.cause).
REASSIGN = "reassign"
HANDOVER = "handover"

STANDARD = "standard"
POC = "poc"

WAITING = "waiting"
STEP_APPROVED = "approved"
STEP_REJECTED = "rejected"

OPEN = "open"
CLOSED = "closed"

TEXT_LIMIT = 2000
SHORT_LIMIT = 200


@dataclass(frozen=True)
class Product:
    code: str
    display_name: str
    unit_cost: Decimal
    currency: str
    active: bool
    create_time: datetime | None = None
    update_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"products/{self.code}"


def validate_product_code(code: str, field_name: str) -> str:
    code = code.strip()
    if not code or len(code) > 64 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in code):
        raise InvalidArgument.field(field_name, "required: letters, digits, '-', '_' or '.', at most 64")
    return code


@dataclass
class Line:
    product: str
    quantity: int
    unit_cost: Decimal
    description: str = ""


@dataclass(frozen=True)
class Attachment:
    file_name: str
    uri: str
    purpose: str


@dataclass
class Step:
    tier: str
    approver_id: str
    outcome: str = WAITING
    comment: str = ""
    decide_time: datetime | None = None


@dataclass
class Shipment:
    courier: str
    tracking_number: str
    ship_time: datetime
    deliver_time: datetime | None = None
    evidence: list[Attachment] = field(default_factory=list)


# --- events ----------------------------------------------------------------------------------------

@dataclass
class Submitted:
    request: SampleRequest


@dataclass
class ApprovalRequested:
    request: SampleRequest
    tier: str
    approver_id: str


@dataclass
class Approved:
    request: SampleRequest
    approver_id: str
    time: datetime


@dataclass
class Rejected:
    request: SampleRequest
    approver_id: str
    comment: str
    time: datetime


@dataclass
class Withdrawn:
    request: SampleRequest
    reason: str
    time: datetime


@dataclass
class OrderRecorded:
    request: SampleRequest


@dataclass
class Shipped:
    request: SampleRequest


@dataclass
class Delivered:
    request: SampleRequest


@dataclass
class FeedbackRaised:
    request: SampleRequest
    feedback: Feedback


@dataclass
class FeedbackUpdated:
    request: SampleRequest
    feedback: Feedback


@dataclass
class FeedbackClosed:
    request: SampleRequest
    feedback: Feedback


@dataclass
class OwnerChanged:
    request: SampleRequest
    previous_owner_id: str
    new_owner_id: str
    cause: str
    time: datetime


# --- the request ---------------------------------------------------------------------------------

@dataclass
class SampleRequest:
    id: str
    opportunity_id: str
    customer_company: str
    customer: str
    requester_id: str
    cost_centre_id: str
    kind: str
    purpose: str
    recipient_name: str
    recipient_phone: str
    address: str
    wanted_by_date: date | None
    lines: list[Line]
    attachments: list[Attachment]
    estimated_cost: Decimal
    currency: str
    total_quantity: int
    state: str
    steps: list[Step]
    create_time: datetime
    update_time: datetime
    erp_order_number: str = ""
    erp_order_error: str = ""
    erp_order_error_time: datetime | None = None
    erp_order_time: datetime | None = None
    shipment: Shipment | None = None
    version: int = 1
    # Who follows the request up: the requester until the deal changes hands, then the deal's new owner
    # ("" means the requester); owner_change_time is when teams or opportunities made the last change.
    owner_id: str = ""
    owner_change_time: datetime | None = None
    events: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.owner_id = self.owner_id or self.requester_id

    @property
    def name(self) -> str:
        return f"sampleRequests/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    @property
    def current_step(self) -> Step | None:
        if self.state != PENDING_APPROVAL:
            return None
        return next((s for s in self.steps if s.outcome == WAITING), None)

    @property
    def approver_ids(self) -> list[str]:
        return sorted({s.approver_id for s in self.steps})

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"{self.name} changed since it was read (etag {self.etag}); re-read it",
                          metadata={"resource": self.name, "etag": self.etag})

    def follows_up(self, user_id: str) -> bool:
        """The requester or the request's owner: whoever may do what the requester may."""
        return user_id in (self.requester_id, self.owner_id)

    def change_owner(self, new_owner_id: str, cause: str, at: datetime, now: datetime) -> bool:
        """An open request follows its deal to ``new_owner_id`` (the change made ``at``); False when nothing
        changed: a request that ended, one the new owner already follows, or a change older than the last one
        applied (events may arrive out of order)."""
        if self.state in TERMINAL or self.owner_id == new_owner_id:
            return False
        if self.owner_change_time is not None and at < self.owner_change_time:
            return False
        previous = self.owner_id
        self.owner_id, self.owner_change_time = new_owner_id, at
        self._touch(now)
        self.events.append(OwnerChanged(self, previous, new_owner_id, cause, at))
        return True

    def _touch(self, now: datetime) -> None:
        self.update_time = now
        self.version += 1

    def _require_pending(self, action: str) -> None:
        if self.state != PENDING_APPROVAL:
            raise FailedPrecondition(f"{self.name} is {self.state}; only a request waiting for approval can be "
                                     f"{action}", reason="NOT_PENDING_APPROVAL",
                                     metadata={"resource": self.name, "state": self.state})

    def _require_current_approver(self, user_id: str, action: str) -> Step:
        self._require_pending(action)
        step = self.current_step
        if any(s.approver_id == user_id and s.outcome != WAITING for s in self.steps):
            raise FailedPrecondition(f"you already decided your step of {self.name}", reason="STEP_ALREADY_DECIDED",
                                     metadata={"resource": self.name})
        if step is None or step.approver_id != user_id:
            raise PermissionDenied(f"{self.name} waits for users/{step.approver_id if step else ''} "
                                   f"(tier {step.tier if step else ''}), not for you", reason="NOT_THE_APPROVER",
                                   metadata={"resource": self.name})
        return step

    def reassign_current(self, new_approver_id: str, now: datetime) -> Step:
        """The waiting step goes to ``new_approver_id`` (its approver left); they are asked to act."""
        step = self.current_step
        if step is None:
            raise FailedPrecondition(f"{self.name} waits for nobody", reason="NOT_PENDING_APPROVAL",
                                     metadata={"resource": self.name})
        step.approver_id = new_approver_id
        self._touch(now)
        self.events.append(ApprovalRequested(self, step.tier, new_approver_id))
        return step

    def approve(self, user_id: str, comment: str, now: datetime) -> None:
        step = self._require_current_approver(user_id, "approved")
        step.outcome, step.comment, step.decide_time = STEP_APPROVED, comment, now
        self._touch(now)
        following = self.current_step
        if following is None:
            self.state = APPROVED
            self.events.append(Approved(self, user_id, now))
        else:
            self.events.append(ApprovalRequested(self, following.tier, following.approver_id))

    def reject(self, user_id: str, comment: str, now: datetime) -> None:
        if not comment.strip():
            raise InvalidArgument.field("comment", "required: say why the request is rejected")
        step = self._require_current_approver(user_id, "rejected")
        step.outcome, step.comment, step.decide_time = STEP_REJECTED, comment.strip(), now
        self.state = REJECTED
        self._touch(now)
        self.events.append(Rejected(self, user_id, step.comment, now))

    def withdraw(self, user_id: str, reason: str, now: datetime) -> None:
        if not self.follows_up(user_id):
            raise PermissionDenied(f"only the requester or the request's owner may withdraw {self.name}",
                                   reason="NOT_THE_REQUESTER", metadata={"resource": self.name})
        self._require_pending("withdrawn")
        self.state = WITHDRAWN
        self._touch(now)
        self.events.append(Withdrawn(self, reason.strip(), now))

    def record_order(self, order_number: str, now: datetime, confirm_time: datetime | None = None) -> bool:
        """The ERP confirmed the free order (at ``confirm_time``, else now). False when nothing changed (already
        recorded)."""
        if self.erp_order_number:
            return False
        if self.state != APPROVED:
            raise FailedPrecondition(f"{self.name} is {self.state}, not approved; an ERP order cannot be recorded",
                                     reason="NOT_APPROVED", metadata={"resource": self.name, "state": self.state})
        self.erp_order_number, self.erp_order_time = order_number, confirm_time or now
        self.erp_order_error, self.erp_order_error_time = "", None
        self.state = ORDERED
        self._touch(now)
        self.events.append(OrderRecorded(self))
        return True

    def record_order_failure(self, error: str, at: datetime, now: datetime) -> bool:
        """The bridge gave up on the order; kept on the request so the requester sees it."""
        if self.erp_order_number:
            return False
        self.erp_order_error, self.erp_order_error_time = error[:TEXT_LIMIT], at
        self._touch(now)
        return True

    def ship(self, courier: str, tracking_number: str, ship_time: datetime, photos: list[Attachment],
             now: datetime) -> None:
        violations = []
        if not courier.strip() or len(courier) > SHORT_LIMIT:
            violations.append(FieldViolation("courier", f"required, at most {SHORT_LIMIT} characters"))
        if not tracking_number.strip() or len(tracking_number) > SHORT_LIMIT:
            violations.append(FieldViolation("tracking_number", f"required, at most {SHORT_LIMIT} characters"))
        if ship_time > now:
            violations.append(FieldViolation("ship_time", "must not be in the future"))
        if violations:
            raise InvalidArgument(violations)
        if self.state != ORDERED:
            raise FailedPrecondition(f"{self.name} is {self.state}; shipping is recorded once the ERP order exists",
                                     reason="NOT_ORDERED", metadata={"resource": self.name, "state": self.state})
        self.shipment = Shipment(courier.strip(), tracking_number.strip(), ship_time, None, list(photos))
        self.state = SHIPPED
        self._touch(now)
        self.events.append(Shipped(self))

    def deliver(self, deliver_time: datetime, evidence: list[Attachment], now: datetime) -> None:
        if self.state != SHIPPED or self.shipment is None:
            raise FailedPrecondition(f"{self.name} is {self.state}; delivery is recorded after shipping",
                                     reason="NOT_SHIPPED", metadata={"resource": self.name, "state": self.state})
        if deliver_time > now:
            raise InvalidArgument.field("deliver_time", "must not be in the future")
        if deliver_time < self.shipment.ship_time:
            raise InvalidArgument.field("deliver_time", "must not be before the ship time")
        self.shipment.deliver_time = deliver_time
        self.shipment.evidence.extend(evidence)
        self.state = DELIVERED
        self._touch(now)
        self.events.append(Delivered(self))

    @property
    def in_trial(self) -> bool:
        return self.state in (SHIPPED, DELIVERED)


@dataclass(frozen=True)
class LineInput:
    product: str
    quantity: int
    description: str = ""


@dataclass(frozen=True)
class RequestInput:
    opportunity_id: str
    kind: str
    purpose: str
    recipient_name: str
    recipient_phone: str
    address: str
    wanted_by_date: str
    lines: tuple[LineInput, ...]
    attachments: tuple[Attachment, ...] = ()
    # Violations found while reading the request (a malformed opportunity name): reported with the rest.
    read_errors: tuple[FieldViolation, ...] = ()


@dataclass(frozen=True)
class OpportunityFacts:
    """What a request copies from its opportunity, as the opportunities service told the caller."""

    customer_company: str
    customer: str
    stage_category: str


PREFIX = "sample_request"
# NUMERIC(18, 4): 14 digits before the point.
MAX_COST = Decimal(10) ** 14
MAX_TOTAL_QUANTITY = 2**31 - 1


def _input_violations(cmd: RequestInput, today: date) -> tuple[list[FieldViolation], date | None]:
    v: list[FieldViolation] = list(cmd.read_errors)
    if cmd.kind not in (STANDARD, POC):
        v.append(FieldViolation(f"{PREFIX}.kind", "required: STANDARD or POC"))
    if not cmd.recipient_name.strip() or len(cmd.recipient_name) > SHORT_LIMIT:
        v.append(FieldViolation(f"{PREFIX}.recipient_name", f"required, at most {SHORT_LIMIT} characters"))
    if not cmd.address.strip() or len(cmd.address) > TEXT_LIMIT:
        v.append(FieldViolation(f"{PREFIX}.address", f"required, at most {TEXT_LIMIT} characters"))
    if len(cmd.purpose) > TEXT_LIMIT:
        v.append(FieldViolation(f"{PREFIX}.purpose", f"at most {TEXT_LIMIT} characters"))
    wanted = None
    if cmd.wanted_by_date:
        try:
            wanted = date.fromisoformat(cmd.wanted_by_date)
            if wanted < today:
                v.append(FieldViolation(f"{PREFIX}.wanted_by_date", "must not be in the past"))
        except ValueError:
            v.append(FieldViolation(f"{PREFIX}.wanted_by_date", "an ISO date YYYY-MM-DD"))
    if not cmd.lines:
        v.append(FieldViolation(f"{PREFIX}.lines", "at least one line is required"))
    for i, line in enumerate(cmd.lines):
        if line.quantity <= 0:
            v.append(FieldViolation(f"{PREFIX}.lines[{i}].quantity", f"must be positive, got {line.quantity}"))
        if not line.product.strip():
            v.append(FieldViolation(f"{PREFIX}.lines[{i}].product", "required: a product code"))
    for i, a in enumerate(cmd.attachments):
        if not a.uri.strip():
            v.append(FieldViolation(f"{PREFIX}.attachments[{i}].uri", "required"))
    return v, wanted


def validate_input(cmd: RequestInput, today: date) -> date | None:
    """Checks that need no catalogue: INVALID_ARGUMENT naming every bad field; the wanted-by date parsed."""
    v, wanted = _input_violations(cmd, today)
    if v:
        raise InvalidArgument(v)
    return wanted


def _priced(cmd: RequestInput, catalogue: dict[str, Product]) -> tuple[list[FieldViolation], list[Line], str]:
    v: list[FieldViolation] = []
    lines: list[Line] = []
    currency = ""
    for i, line in enumerate(cmd.lines):
        if not line.product.strip():
            continue  # named by the input checks
        product = catalogue.get(line.product.strip())
        at = f"{PREFIX}.lines[{i}].product"
        if product is None:
            v.append(FieldViolation(at, f"no product {line.product!r} in the catalogue"))
            continue
        if not product.active:
            v.append(FieldViolation(at, f"product {product.code!r} is no longer offered"))
            continue
        currency = currency or product.currency
        if product.currency != currency:
            v.append(FieldViolation(at, f"priced in {product.currency}; this request's lines are in {currency}"))
            continue
        lines.append(Line(product.code, line.quantity, product.unit_cost, line.description.strip()))
    return v, lines, currency


def _totals(lines: list[Line]) -> tuple[list[FieldViolation], Decimal, int]:
    cost = sum((ln.unit_cost * ln.quantity for ln in lines), Decimal(0))
    total = sum(ln.quantity for ln in lines)
    v = []
    if cost >= MAX_COST:
        v.append(FieldViolation(f"{PREFIX}.lines", f"the estimated cost must stay below {MAX_COST:,.0f}"))
    if total > MAX_TOTAL_QUANTITY:
        v.append(FieldViolation(f"{PREFIX}.lines", f"the total quantity must be at most {MAX_TOTAL_QUANTITY}"))
    return v, cost, total


def price_lines(cmd: RequestInput, catalogue: dict[str, Product]) -> tuple[list[Line], Decimal, str, int]:
    """The lines priced from the catalogue, the estimated cost, its currency and the total quantity.
    INVALID_ARGUMENT ``sample_request.lines[i].product`` for an unknown or inactive product, or one priced in
    another currency than the first line's; ``sample_request.lines`` for a cost or quantity too large to keep."""
    v, lines, currency = _priced(cmd, catalogue)
    if v:
        raise InvalidArgument(v)
    v, cost, total = _totals(lines)
    if v:
        raise InvalidArgument(v)
    return lines, cost, currency, total


@dataclass(frozen=True)
class PricedRequest:
    wanted_by: date | None
    lines: list[Line]
    estimated_cost: Decimal
    currency: str
    total_quantity: int


def check_request(cmd: RequestInput, today: date, catalogue: dict[str, Product]) -> PricedRequest:
    """The request checked and priced at once: INVALID_ARGUMENT naming every bad field, input and catalogue."""
    v, wanted = _input_violations(cmd, today)
    priced_v, lines, currency = _priced(cmd, catalogue)
    v += priced_v
    if not v:
        v, cost, total = _totals(lines)
    if v:
        raise InvalidArgument(v)
    return PricedRequest(wanted, lines, cost, currency, total)


def submit(*, id: str, cmd: RequestInput, wanted_by: date | None, lines: list[Line], estimated_cost: Decimal,
           currency: str, total_quantity: int, requester_id: str, cost_centre_id: str, customer_company: str,
           customer: str, approvers: list[tuple[str, str]], now: datetime) -> SampleRequest:
    """A new request waiting for its first approver; ``approvers`` is [(tier name, user id)] in order."""
    request = SampleRequest(
        id=id, opportunity_id=cmd.opportunity_id, customer_company=customer_company, customer=customer,
        requester_id=requester_id, cost_centre_id=cost_centre_id, kind=cmd.kind, purpose=cmd.purpose.strip(),
        recipient_name=cmd.recipient_name.strip(), recipient_phone=cmd.recipient_phone.strip(),
        address=cmd.address.strip(), wanted_by_date=wanted_by, lines=lines, attachments=list(cmd.attachments),
        estimated_cost=estimated_cost, currency=currency, total_quantity=total_quantity, state=PENDING_APPROVAL,
        steps=[Step(tier, approver) for tier, approver in approvers], create_time=now, update_time=now)
    first = request.steps[0]
    request.events += [Submitted(request), ApprovalRequested(request, first.tier, first.approver_id)]
    return request


# --- feedback --------------------------------------------------------------------------------------

@dataclass
class Feedback:
    id: str
    request_id: str
    summary: str
    detail: str
    assignee_id: str
    raised_by: str
    state: str
    create_time: datetime
    update_time: datetime
    resolution: str = ""
    close_time: datetime | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"sampleRequests/{self.request_id}/feedback/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"{self.name} changed since it was read (etag {self.etag}); re-read it",
                          metadata={"resource": self.name, "etag": self.etag})

    def _require_open(self) -> None:
        if self.state != OPEN:
            raise FailedPrecondition(f"{self.name} is closed", reason="FEEDBACK_CLOSED",
                                     metadata={"resource": self.name})

    def update(self, *, summary: str | None, detail: str | None, assignee_id: str | None, now: datetime) -> None:
        self._require_open()
        if summary is not None:
            self.summary = validate_summary(summary, "feedback.summary")
        if detail is not None:
            self.detail = validate_detail(detail, "feedback.detail")
        if assignee_id is not None:
            self.assignee_id = assignee_id
        self.update_time = now
        self.version += 1

    def close(self, resolution: str, now: datetime) -> None:
        if not resolution.strip() or len(resolution) > TEXT_LIMIT:
            raise InvalidArgument.field("resolution", f"required, at most {TEXT_LIMIT} characters")
        self._require_open()
        self.state, self.resolution, self.close_time = CLOSED, resolution.strip(), now
        self.update_time = now
        self.version += 1


def validate_summary(summary: str, field_name: str) -> str:
    if not summary.strip() or len(summary) > SHORT_LIMIT:
        raise InvalidArgument.field(field_name, f"required, at most {SHORT_LIMIT} characters")
    return summary.strip()


def validate_detail(detail: str, field_name: str) -> str:
    if len(detail) > TEXT_LIMIT:
        raise InvalidArgument.field(field_name, f"at most {TEXT_LIMIT} characters")
    return detail.strip()


def raise_feedback(*, id: str, request: SampleRequest, summary: str, detail: str, assignee_id: str,
                   raised_by: str, now: datetime) -> Feedback:
    if not request.in_trial:
        raise FailedPrecondition(f"{request.name} is {request.state}; feedback is recorded once the sample shipped",
                                 reason="NOT_IN_TRIAL", metadata={"resource": request.name, "state": request.state})
    return Feedback(id=id, request_id=request.id, summary=validate_summary(summary, "feedback.summary"),
                    detail=validate_detail(detail, "feedback.detail"), assignee_id=assignee_id, raised_by=raised_by,
                    state=OPEN, create_time=now, update_time=now)
