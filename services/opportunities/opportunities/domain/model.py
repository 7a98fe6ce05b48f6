"""Opportunities and the pipelines they move through. Plain Python: no database, no protos, no framework."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from opportunities.domain import gates, registration
from opportunities.domain.pipeline import LOST, OPEN, WON, Pipeline, Stage
from shangji_kit import company_time, names
from shangji_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument

__all__ = ["LOST", "OPEN", "WON", "Pipeline", "Stage"]

T = TypeVar("T")

TITLE_MAX = 200
COMPANY_MAX = 200
DIFFICULTY_MAX = Decimal("99999.999")  # numeric(8, 3)
QUOTE_LINES_MAX = 500
QUOTE_NUMBER_MAX = Decimal("999999999999999")  # a quote line's quantity or unit price
QUOTE_NUMBER_PLACES = 6


@dataclass(frozen=True)
class QuoteLine:
    """One quoted line: our product code, quantity above zero, unit price not negative."""

    product: str
    quantity: Decimal
    unit_price: Decimal
    description: str = ""


@dataclass(frozen=True)
class Collections:
    """What a deal's collections say for its gates, read in one query when a gate needs them."""

    decision_makers: int = 0
    requirements_total: int = 0
    requirements_answered: int = 0
    documents: frozenset[str] = frozenset()
    approved_samples: int = 0
    delivered_samples: int = 0
AMOUNT_MAX = Decimal("9999999999999999.99")  # numeric(18, 2)


@dataclass
class Opportunity:
    id: str
    title: str
    customer_company: str
    contact_name: str
    contact_phone: str
    contact_email: str
    region: str
    source: str
    owner_id: str | None  # None while unassigned (registration_state UNASSIGNED)
    registrant_id: str
    pipeline_id: str
    stage_key: str
    stage_display_name: str
    lead_id: str | None
    create_time: datetime
    update_time: datetime
    version: int = 1
    pipeline_version: int = 1
    amount: Decimal | None = None
    currency: str = ""
    expected_close_date: date | None = None
    # None: the probability follows the stage (stage_probability); else an override explained by probability_note.
    probability: int | None = None
    probability_note: str = ""
    checklist: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    stage_enter_time: datetime | None = None
    win_date: date | None = None
    lost_reason: str = ""
    lost_competitor: str = ""
    # Registration (报备): active, pending_arbitration (a queued collision) or rejected (by the arbiter).
    registration_state: str = registration.ACTIVE
    customer_key: str = ""
    # The deal this registration collided with, while queued and after arbitration.
    collides_with: str | None = None
    arbiter_id: str | None = None
    arbitration_time: datetime | None = None
    arbitration_note: str = ""
    customer_id: str | None = None  # leads' customer
    difficulty: Decimal = Decimal(1)
    quote_lines: tuple[QuoteLine, ...] = ()
    # The ERP's sales order for the won deal, once the ERP confirmed it (set by the worker, never by an edit).
    erp_order_number: str = ""
    # The deal's collections as the gates see them (not stored on the deal). ``collections_loader``, given by the use
    # case, reads them when a gate about to be checked needs them, so other moves cost no query.
    collections: Collections = field(default_factory=Collections, repr=False, compare=False)
    collections_loader: Callable[[], Collections] | None = field(default=None, repr=False, compare=False)
    # Read with the stage (not stored on the deal).
    stage_category: str = OPEN
    stage_probability: int = 0
    events: list = field(default_factory=list, repr=False, compare=False)
    # The audited fields as loaded (``audit.snapshot``), set by the repository that read the deal for a change:
    # saving it records the difference (``audit.record``). None for a deal read for display only.
    loaded: Mapping[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"opportunities/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    def retitle(self, title: str, now: datetime, field: str = "title") -> None:
        """A new title; the version moves on so a client holding the old etag is refused."""
        self.title = clean_title(title, field)
        self.version += 1
        self.update_time = now

    @property
    def effective_probability(self) -> int:
        return self.stage_probability if self.probability is None else self.probability

    def evidence(self, pipeline: Pipeline) -> gates.Evidence:
        """What the gates can check on this deal: its fields, checklist and ``collections`` (decision chain,
        requirement items, documents, samples) as the use case read them."""
        values = {name: getattr(self, name) for name in gates.GATED_FIELDS}
        c = self.collections
        return gates.Evidence(values=values, checklist=frozenset(self.checklist),
                              checklist_labels=pipeline.checklist_labels(), decision_makers=c.decision_makers,
                              requirements_total=c.requirements_total,
                              requirements_answered=c.requirements_answered, documents=c.documents,
                              approved_samples=c.approved_samples, delivered_samples=c.delivered_samples)

    def change(self, changes: dict[str, object], pipeline: Pipeline, today: date, now: datetime) -> None:
        """Apply already-parsed field changes (amount, currency, expected_close_date, probability with its note,
        checklist, product_lines), checking each; INVALID_ARGUMENT listing every bad field, nothing changed."""
        v: list[FieldViolation] = []
        if "expected_close_date" in changes:
            close = changes["expected_close_date"]
            if close is not None and close < today:
                v.append(FieldViolation("opportunity.expected_close_date",
                                        f"{close.isoformat()} is in the past (today is {today.isoformat()})"))
        if "currency" in changes:
            currency = str(changes["currency"]).strip().upper()
            if currency and not (len(currency) == 3 and currency.isalpha() and currency.isascii()):
                v.append(FieldViolation("opportunity.currency", "a three-letter ISO 4217 code such as CNY"))
            changes["currency"] = currency
        if "checklist" in changes:
            known = pipeline.checklist_labels()
            unknown = [k for k in changes["checklist"] if k not in known]
            if unknown:
                v.append(FieldViolation("opportunity.checklist",
                                        f"unknown checklist item {unknown[0]!r} in pipeline {pipeline.key} "
                                        f"version {pipeline.version}"))
            changes["checklist"] = tuple(dict.fromkeys(changes["checklist"]))
        if "product_lines" in changes:
            changes["product_lines"] = tuple(dict.fromkeys(p.strip() for p in changes["product_lines"] if p.strip()))
        if "difficulty" in changes and changes["difficulty"] is None:
            changes["difficulty"] = Decimal(1)
        if "probability" in changes:
            probability = changes["probability"]
            note = str(changes.get("probability_note", "")).strip()
            if not 0 <= probability <= 100:
                v.append(FieldViolation("opportunity.probability", "a whole number from 0 to 100"))
            elif probability == self.stage_probability:
                changes["probability"], changes["probability_note"] = None, ""
            elif not note:
                v.append(FieldViolation("opportunity.probability_note",
                                        f"required when the probability ({probability}) differs from the stage's "
                                        f"default ({self.stage_probability})"))
            else:
                changes["probability_note"] = note
        elif "probability_note" in changes:
            v.append(FieldViolation("opportunity.probability_note", "change it together with probability"))
        if v:
            raise InvalidArgument(v)
        for name, value in changes.items():
            setattr(self, name, value)
        self.version += 1
        self.update_time = now

    def complete_checklist_item(self, item: str, pipeline: Pipeline, now: datetime) -> bool:
        """Mark one item of the pipeline version's checklist done; False (nothing changed) when it already is.
        INVALID_ARGUMENT ``item`` for an empty key or one the pipeline does not have."""
        item = item.strip()
        if not item:
            raise InvalidArgument.field("item", "required: a checklist item key")
        if item not in pipeline.checklist_labels():
            raise InvalidArgument.field("item", f"unknown checklist item {item!r} in pipeline {pipeline.key} "
                                                f"version {pipeline.version}")
        if item in self.checklist:
            return False
        self.change({"checklist": (*self.checklist, item)}, pipeline, company_time.today(now), now)
        return True

    def require_registered(self) -> None:
        """Changes wait for a queued registration's arbitration; a rejected registration changes no more."""
        if self.registration_state != registration.ACTIVE:
            raise FailedPrecondition(f"{self.name} is {self.registration_state.replace('_', ' ')}; it cannot be "
                                     f"changed", reason="REGISTRATION_NOT_ACTIVE",
                                     violations=[("REGISTRATION", f"the registration is {self.registration_state}")],
                                     metadata={"resource": self.name, "registration_state": self.registration_state})

    def arbitrate(self, decision: str, note: str, arbiter_id: str, now: datetime) -> None:
        """A manager's decision on a queued registration: approve (it becomes active, its owner keeps it) or reject."""
        decision = registration.check_decision(decision)
        if self.registration_state != registration.PENDING_ARBITRATION:
            raise FailedPrecondition(f"{self.name} is not waiting for arbitration (it is {self.registration_state})",
                                     reason="NOT_PENDING_ARBITRATION",
                                     violations=[("REGISTRATION", f"the registration is {self.registration_state}")],
                                     metadata={"resource": self.name, "registration_state": self.registration_state})
        self.registration_state = registration.ACTIVE if decision == registration.APPROVE else registration.REJECTED
        self.arbiter_id, self.arbitration_time, self.arbitration_note = arbiter_id, now, note.strip()
        self.version += 1
        self.update_time = now
        self.events.append(OpportunityRegistrationArbitrated(self, decision, arbiter_id, note.strip(), now))

    def assign(self, assignee_id: str, now: datetime) -> None:
        """An unassigned deal gets its owner (from the assignment queue) and becomes active; it is announced as
        registered now that it has one."""
        if self.registration_state != registration.UNASSIGNED:
            raise FailedPrecondition(f"{self.name} is not in the assignment queue (it is {self.registration_state})",
                                     reason="NOT_UNASSIGNED",
                                     violations=[("REGISTRATION", f"{self.name} is {self.registration_state}")],
                                     metadata={"resource": self.name, "registration_state": self.registration_state})
        self.owner_id, self.registration_state = assignee_id, registration.ACTIVE
        self.version += 1
        self.update_time = now
        self.events.append(OpportunityRegistered(self))

    def reassign(self, new_owner_id: str, actor_id: str, reason: str, now: datetime) -> None:
        """Another owner for an active deal (a manager's or sales ops' decision). A deal waiting for arbitration,
        rejected or unassigned, or a new owner who already owns it: FAILED_PRECONDITION."""
        if self.registration_state != registration.ACTIVE:
            raise FailedPrecondition(f"{self.name} is {self.registration_state.replace('_', ' ')}; it cannot be "
                                     f"reassigned", reason="REGISTRATION_NOT_ACTIVE",
                                     violations=[("REGISTRATION", f"the registration is {self.registration_state}")],
                                     metadata={"resource": self.name, "registration_state": self.registration_state})
        if new_owner_id == self.owner_id:
            raise FailedPrecondition(f"users/{new_owner_id} already owns {self.name}", reason="SAME_OWNER",
                                     violations=[("OWNER", f"users/{new_owner_id} already owns it")],
                                     metadata={"resource": self.name, "owner": f"users/{new_owner_id}"})
        previous, self.owner_id = self.owner_id, new_owner_id
        self.version += 1
        self.update_time = now
        self.events.append(OpportunityReassigned(self, previous, new_owner_id, actor_id, reason.strip(), now))

    # --- the lifecycle ------------------------------------------------------------------------------

    def _require_open(self, action: str) -> None:
        if self.stage_category != OPEN:
            raise FailedPrecondition(f"{self.name} is {self.stage_category}; reopen it before you {action}",
                                     reason="OPPORTUNITY_CLOSED",
                                     violations=[("STAGE", f"the deal is {self.stage_category}")],
                                     metadata={"resource": self.name, "stage": self.stage_key})

    def _gate(self, pipeline: Pipeline, passed: list[Stage], target: str) -> None:
        criteria = [c for stage in passed for c in stage.exit_criteria]
        if self.collections_loader is not None and gates.reads_collections(criteria):
            self.collections, self.collections_loader = self.collections_loader(), None
        evidence = self.evidence(pipeline)
        unmet = [u for stage in passed for u in gates.evaluate(stage.exit_criteria, evidence)]
        if unmet:
            raise FailedPrecondition(
                f"{self.name} cannot leave stage {self.stage_key} for {target}: "
                f"{len(unmet)} exit criteria unmet", reason="EXIT_CRITERIA_UNMET",
                violations=[(u.kind, u.description) for u in unmet],
                metadata={"resource": self.name, "stage": self.stage_key, "target_stage": target})

    def _enter(self, stage: Stage, now: datetime) -> str:
        previous = self.stage_key
        self.stage_key, self.stage_display_name = stage.key, stage.display_name
        self.stage_category, self.stage_probability = stage.category, stage.probability
        self.probability, self.probability_note = None, ""
        self.stage_enter_time = now
        self.version += 1
        self.update_time = now
        return previous

    def advance(self, pipeline: Pipeline, target_key: str, reason: str, actor_id: str, now: datetime) -> None:
        """Move to ``target_key`` (the next open stage when empty). Forward moves check the exit criteria of every
        stage left behind and the skip rule; moving back needs a reason. Won and lost are reached by win / lose."""
        self._require_open("advance it")
        current = pipeline.stage(self.stage_key, "opportunity.stage")
        opens = pipeline.open_stages()
        if not target_key:
            index = opens.index(current)
            if index + 1 >= len(opens):
                raise FailedPrecondition(f"{current.key} is the last open stage of pipeline {pipeline.key}; "
                                         f"win or lose the deal", reason="NO_NEXT_STAGE",
                                         metadata={"resource": self.name, "stage": current.key})
            target = opens[index + 1]
        else:
            target = pipeline.stage(target_key)
        if target.category != OPEN:
            use = "WinOpportunity" if target.category == WON else "LoseOpportunity"
            raise InvalidArgument.field("target_stage", f"{target.key} is a {target.category} stage: use {use}")
        if target.key == current.key:
            raise InvalidArgument.field("target_stage", f"the deal is already in {current.key}")
        reason = reason.strip()
        backward = target.position < current.position
        if backward:
            if not reason:
                raise InvalidArgument.field("reason", f"required when moving back from {current.key} to {target.key}")
        else:
            self._gate(pipeline, pipeline.stages_passed(current, target), target.key)
        previous = self._enter(target, now)
        self.events.append(OpportunityStageChanged(self, previous, target.key, actor_id, reason, now, backward))

    def win(self, pipeline: Pipeline, amount: Decimal | None, win_date: date, today: date, actor_id: str,
            now: datetime) -> None:
        """Won, with its amount (the deal's own when not given) and date; the exit criteria of the open stages
        still ahead (and the skip rule) apply as for an advance."""
        self._require_open("win it")
        if win_date > today:
            raise InvalidArgument.field("win_date", f"{win_date.isoformat()} is in the future")
        amount = self.amount if amount is None else amount
        if amount is None or amount <= 0:
            raise InvalidArgument.field("amount", "required: the amount won, above zero")
        current = pipeline.stage(self.stage_key, "opportunity.stage")
        won = pipeline.closing_stage(WON)
        self.amount = amount
        self._gate(pipeline, pipeline.stages_passed(current, won), won.key)
        self.win_date = win_date
        previous = self._enter(won, now)
        self.events.append(OpportunityWon(self, previous, won.key, actor_id, "", now))

    def lose(self, pipeline: Pipeline, reason: str, competitor: str, actor_id: str, now: datetime) -> None:
        """Lost, for a reason from the pipeline's list (any stated reason when the list is empty)."""
        self._require_open("lose it")
        reason = reason.strip()
        if pipeline.lost_reasons and reason not in pipeline.lost_reasons:
            raise InvalidArgument.field("reason", f"{reason!r} is not a lost reason of pipeline {pipeline.key}; "
                                                  f"reasons: {', '.join(pipeline.lost_reasons)}")
        if not reason:
            raise InvalidArgument.field("reason", "required")
        lost = pipeline.closing_stage(LOST)
        self.lost_reason, self.lost_competitor = reason, competitor.strip()
        previous = self._enter(lost, now)
        self.events.append(OpportunityLost(self, previous, lost.key, actor_id, reason, now))

    def reopen(self, pipeline: Pipeline, to_stage: Stage, reason: str, actor_id: str, now: datetime) -> None:
        """A won or lost deal back in ``to_stage`` (the open stage it was closed from), with a reason."""
        if self.stage_category == OPEN:
            raise FailedPrecondition(f"{self.name} is open; only won or lost deals can be reopened",
                                     reason="OPPORTUNITY_OPEN", violations=[("STAGE", "the deal is open")],
                                     metadata={"resource": self.name, "stage": self.stage_key})
        reason = reason.strip()
        if not reason:
            raise InvalidArgument.field("reason", "required")
        self.win_date, self.lost_reason, self.lost_competitor = None, "", ""
        previous = self._enter(to_stage, now)
        self.events.append(OpportunityReopened(self, previous, to_stage.key, actor_id, reason, now))


@dataclass(frozen=True)
class OpportunityRegistered:
    opportunity: Opportunity


@dataclass(frozen=True)
class OpportunityRegistrationQueued:
    """A registration that collided, stored for a manager to arbitrate."""

    opportunity: Opportunity
    collision: registration.Collision


@dataclass(frozen=True)
class OpportunityRegistrationArbitrated:
    opportunity: Opportunity
    decision: str
    arbiter_id: str
    note: str
    arbitration_time: datetime


@dataclass(frozen=True)
class OpportunityReassigned:
    """A manager or sales ops gave one deal to another owner."""

    opportunity: Opportunity
    previous_owner_id: str | None
    new_owner_id: str
    actor_id: str
    reason: str
    change_time: datetime


@dataclass(frozen=True)
class StageStay:
    """One stay of a deal in a stage (a stage-history entry); ``exit_time`` is None while it is still there."""

    stage_key: str
    enter_time: datetime
    exit_time: datetime | None
    actor_id: str | None
    reason: str

    def duration_seconds(self, now: datetime) -> int:
        return max(0, int(((self.exit_time or now) - self.enter_time).total_seconds()))


def time_in_stages(stays: list[StageStay], now: datetime) -> list[tuple[str, int, int]]:
    """(stage key, seconds, number of stays) per stage, the stays' durations summed, in order of first entry."""
    totals: dict[str, list[int]] = {}
    for stay in stays:
        total = totals.setdefault(stay.stage_key, [0, 0])
        total[0] += stay.duration_seconds(now)
        total[1] += 1
    return [(key, seconds, count) for key, (seconds, count) in totals.items()]


def stage_to_reopen(pipeline: Pipeline, stays: list[StageStay]) -> Stage:
    """The open stage a closed deal goes back to: the last open stage it stayed in (the first open stage when its
    history names none this version knows)."""
    for stay in reversed(stays):
        stage = pipeline.find(stay.stage_key)
        if stage is not None and stage.category == OPEN:
            return stage
    return pipeline.first_open_stage()


@dataclass(frozen=True)
class StageMove:
    """A deal's move from one stage to another: each becomes a stage-history entry and an event."""

    opportunity: Opportunity
    from_stage: str
    to_stage: str
    actor_id: str
    reason: str
    change_time: datetime


@dataclass(frozen=True)
class OpportunityStageChanged(StageMove):
    backward: bool = False


@dataclass(frozen=True)
class OpportunityWon(StageMove):
    pass


@dataclass(frozen=True)
class OpportunityLost(StageMove):
    pass


@dataclass(frozen=True)
class OpportunityReopened(StageMove):
    pass


def parse_amount(text: str, field: str) -> Decimal | None:
    """A decimal string ("12345.67") as an amount; None for ""; INVALID_ARGUMENT when negative or malformed."""
    text = text.strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise InvalidArgument.field(field, f"{_quoted(text)} is not a decimal amount such as 12345.67")
    if amount < 0:
        raise InvalidArgument.field(field, f"must not be negative, got {text}")
    # The bound first: quantizing 1e309 overflows the decimal context.
    if amount > AMOUNT_MAX or amount != amount.quantize(Decimal("0.01")):
        raise InvalidArgument.field(field, "at most two decimal places and 16 digits before the point")
    return amount.quantize(Decimal("0.01"))


def parse_date(text: str, field: str) -> date | None:
    """"YYYY-MM-DD" as a date; None for ""."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad_date(text)
    except ValueError as exc:
        raise InvalidArgument.field(field, f"{_quoted(text)} is not a date YYYY-MM-DD") from exc


def parse_difficulty(text: str, field: str) -> Decimal | None:
    """The difficulty coefficient: a decimal above zero ("1.2"), at most three places; None for "" (it is 1)."""
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0:
        raise InvalidArgument.field(field, f"{_quoted(text)} is not a decimal above zero such as 1.2")
    if value > DIFFICULTY_MAX or value != value.quantize(Decimal("0.001")):
        raise InvalidArgument.field(field, "at most three decimal places and 5 digits before the point")
    return value


def parse_quote_lines(lines: list[tuple[str, str, str, str]], field: str) -> tuple[QuoteLine, ...]:
    """(product, quantity, unit_price, description) rows as quote lines; INVALID_ARGUMENT naming every bad one
    (``field[i].quantity``)."""
    if len(lines) > QUOTE_LINES_MAX:
        raise InvalidArgument.field(field, f"at most {QUOTE_LINES_MAX} lines")
    out, v = [], []
    for i, (product, quantity, unit_price, description) in enumerate(lines):
        where = f"{field}[{i}]"
        if not product.strip():
            v.append(FieldViolation(f"{where}.product", "required"))
        q = _decimal(quantity)
        if q is None or q <= 0 or not _quote_number(q):
            v.append(FieldViolation(f"{where}.quantity", f"{_quoted(quantity)}: a decimal above zero, at most "
                                                         f"{QUOTE_NUMBER_PLACES} places and {QUOTE_NUMBER_MAX}"))
        p = _decimal(unit_price)
        if p is None or p < 0 or not _quote_number(p):
            v.append(FieldViolation(f"{where}.unit_price", f"{_quoted(unit_price)}: a decimal, zero or more, at "
                                                           f"most {QUOTE_NUMBER_PLACES} places and "
                                                           f"{QUOTE_NUMBER_MAX}"))
        if not v:
            out.append(QuoteLine(product=product.strip(), quantity=q, unit_price=p, description=description.strip()))
    if v:
        raise InvalidArgument(v)
    return tuple(out)


def _quote_number(value: Decimal) -> bool:
    """Within the bounds a quote line's numbers are kept and shown in: 1e309 or 1e-309 would print as hundreds of
    digits on every read."""
    return value <= QUOTE_NUMBER_MAX and value == value.quantize(Decimal(1).scaleb(-QUOTE_NUMBER_PLACES))


def _quoted(text: str) -> str:
    """A bad value as an error quotes it: short, so a huge value cannot swell the error."""
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _bad_date(text: str) -> date:
    raise ValueError(text)


def clean_title(title: str, field: str = "title") -> str:
    """A deal's title as stored: trimmed, required, at most TITLE_MAX characters."""
    title = title.strip()
    if not title:
        raise InvalidArgument.field(field, "required")
    if len(title) > TITLE_MAX:
        raise InvalidArgument.field(field, f"at most {TITLE_MAX} characters")
    return title


@dataclass(frozen=True)
class TeamMember:
    """A person on a deal's team (kept by teams; a copy here decides who sees and who may edit)."""

    opportunity_id: str
    user_id: str
    role: str
    can_edit: bool
    add_time: datetime


# --- who may change a deal --------------------------------------------------------------------

@dataclass(frozen=True)
class Editor:
    """What is known of a caller who asks to change a deal, resolved from teams' projection.

    ``active`` is False only when teams told us the user was deactivated (a caller teams has not told us
    about yet counts as active). ``team_can_edit`` is None when the caller is not on the deal's team.
    ``manages_owner``: the caller is the active head of a department at or above the owner's department.
    """

    user_id: str
    active: bool = True
    team_can_edit: bool | None = None
    manages_owner: bool = False


def may_edit(editor: Editor, opportunity: Opportunity) -> bool:
    """The owner, team members allowed to edit, and managers above the owner may change a deal.

    Seeing everything (sales_ops, admin) gives no right to change anything. A deactivated user keeps only
    what ownership gives, as for reading.
    """
    if editor.user_id == opportunity.owner_id:
        return True
    if not editor.active:
        return False
    return editor.team_can_edit is True or editor.manages_owner


def registration_violations(*, title: str, customer_company: str, product_lines: tuple[str, ...], currency: str,
                            expected_close_date: date | None, today: date, require_product_lines: bool = False,
                            field_prefix: str = "") -> list[FieldViolation]:
    """Every bad field of a registration (``field_prefix`` + name), in field order; [] when it may be registered."""
    title, customer_company = title.strip(), " ".join(customer_company.split())
    lines = tuple(dict.fromkeys(p.strip() for p in product_lines if p.strip()))
    currency = currency.strip().upper()
    violations: list[FieldViolation] = []
    if not customer_company:
        violations.append(FieldViolation(f"{field_prefix}customer_company", "required"))
    if not (title or customer_company):
        violations.append(FieldViolation(f"{field_prefix}title", "required"))
    elif len(title) > TITLE_MAX:
        violations.append(FieldViolation(f"{field_prefix}title", f"at most {TITLE_MAX} characters"))
    if require_product_lines and not lines:
        violations.append(FieldViolation(f"{field_prefix}product_lines",
                                         "required: at least one product line (registration protects a customer "
                                         "for product lines)"))
    if currency and not (len(currency) == 3 and currency.isalpha() and currency.isascii()):
        violations.append(FieldViolation(f"{field_prefix}currency", "a three-letter ISO 4217 code such as CNY"))
    if expected_close_date is not None and expected_close_date < today:
        violations.append(FieldViolation(f"{field_prefix}expected_close_date",
                                         f"{expected_close_date.isoformat()} is in the past (today is "
                                         f"{today.isoformat()})"))
    return violations


@dataclass(frozen=True)
class RegistrationValues:
    """A registration's fields as the deal keeps them, parsed from what the client sent."""

    amount: Decimal | None
    expected_close_date: date | None
    difficulty: Decimal | None
    quote_lines: tuple[QuoteLine, ...]
    pipeline_id: str | None
    customer_id: str | None


def parse_registration(*, title: str, customer_company: str, product_lines: tuple[str, ...], currency: str,
                       amount: str, expected_close_date: str, difficulty: str,
                       quote_lines: list[tuple[str, str, str, str]], pipeline: str, customer: str, today: date,
                       field_prefix: str = "opportunity.") -> RegistrationValues:
    """Every field of a direct registration checked at once: INVALID_ARGUMENT listing every bad one (not the first),
    else the parsed values. ``pipeline`` and ``customer`` are resource names ("" for none)."""
    p = field_prefix
    bad: list[FieldViolation] = []

    def checked(parse: Callable[..., T], *args: object) -> T | None:
        try:
            return parse(*args)
        except InvalidArgument as exc:
            bad.extend(exc.violations)
            return None

    values = RegistrationValues(
        amount=checked(parse_amount, amount, f"{p}amount"),
        expected_close_date=checked(parse_date, expected_close_date, f"{p}expected_close_date"),
        difficulty=checked(parse_difficulty, difficulty, f"{p}difficulty"),
        quote_lines=checked(parse_quote_lines, quote_lines, f"{p}quote_lines") or (),
        pipeline_id=checked(names.parse, pipeline, "pipelines", f"{p}pipeline") if pipeline else None,
        customer_id=checked(names.parse, customer, "customers", f"{p}customer") if customer else None)
    violations = registration_violations(
        title=title, customer_company=customer_company, product_lines=product_lines, currency=currency,
        expected_close_date=values.expected_close_date, today=today, require_product_lines=True, field_prefix=p)
    # The company is indexed (its customer key): an over-long one would fail in the database, not here.
    if len(customer_company.strip()) > COMPANY_MAX:
        violations.append(FieldViolation(f"{p}customer_company", f"at most {COMPANY_MAX} characters"))
    if violations or bad:
        raise InvalidArgument(violations + bad)
    return values


def parse_changes(mask: set[str], *, title: str, amount: str, currency: str, expected_close_date: str,
                  probability: int, probability_note: str, checklist: tuple[str, ...], product_lines: tuple[str, ...],
                  customer_id: str | None, difficulty: str, quote_lines: list[tuple[str, str, str, str]],
                  field_prefix: str = "opportunity.") -> tuple[str | None, dict[str, object]]:
    """An edit's new title (None when not in ``mask``) and its other changes, parsed, for ``Opportunity.change``:
    only the fields in ``mask``; INVALID_ARGUMENT listing every field that does not parse."""
    p = field_prefix
    bad: list[FieldViolation] = []

    def checked(parse: Callable[..., T], *args: object) -> T | None:
        try:
            return parse(*args)
        except InvalidArgument as exc:
            bad.extend(exc.violations)
            return None

    new_title = checked(clean_title, title, f"{p}title") if "title" in mask else None
    parsers: dict[str, Callable[[], object]] = {
        "amount": lambda: checked(parse_amount, amount, f"{p}amount"),
        "currency": lambda: currency,
        "expected_close_date": lambda: checked(parse_date, expected_close_date, f"{p}expected_close_date"),
        "probability": lambda: probability,
        "checklist": lambda: tuple(checklist),
        "product_lines": lambda: tuple(product_lines),
        "customer_id": lambda: customer_id,
        "difficulty": lambda: checked(parse_difficulty, difficulty, f"{p}difficulty"),
        "quote_lines": lambda: checked(parse_quote_lines, quote_lines, f"{p}quote_lines"),
    }
    wanted = {"customer_id" if m == "customer" else m for m in mask}
    changes = {name: parse() for name, parse in parsers.items() if name in wanted}
    if "probability_note" in mask or "probability" in mask:
        changes["probability_note"] = probability_note
    if bad:
        raise InvalidArgument(bad)
    return new_title, changes


def register(*, id: str, title: str, customer_company: str, owner_id: str | None, registrant_id: str,
             pipeline: Pipeline, now: datetime, lead_id: str | None = None, contact_name: str = "",
             contact_phone: str = "", contact_email: str = "", region: str = "", source: str = "",
             product_lines: tuple[str, ...] = (),
             amount: Decimal | None = None, currency: str = "", expected_close_date: date | None = None,
             require_product_lines: bool = False, field_prefix: str = "", customer_id: str | None = None,
             difficulty: Decimal | None = None, quote_lines: tuple[QuoteLine, ...] = ()) -> Opportunity:
    """A deal registered (directly, or from a converted lead) in the pipeline's first open stage, ``active``; without
    an owner it waits in the assignment queue (``unassigned``, announced when assigned). INVALID_ARGUMENT listing
    every bad field (``field_prefix`` + name)."""
    violations = registration_violations(
        title=title, customer_company=customer_company, product_lines=product_lines, currency=currency,
        expected_close_date=expected_close_date, today=company_time.today(now),
        require_product_lines=require_product_lines, field_prefix=field_prefix)
    if violations:
        raise InvalidArgument(violations)
    title, customer_company = title.strip(), " ".join(customer_company.split())
    lines = tuple(dict.fromkeys(p.strip() for p in product_lines if p.strip()))
    currency = currency.strip().upper()
    stage = pipeline.first_open_stage()
    opportunity = Opportunity(
        id=id, title=title or customer_company, customer_company=customer_company,
        contact_name=contact_name.strip(), contact_phone=contact_phone.strip(), contact_email=contact_email.strip(),
        region=region.strip(), source=source.strip(), owner_id=owner_id, registrant_id=registrant_id,
        pipeline_id=pipeline.id, stage_key=stage.key, stage_display_name=stage.display_name, lead_id=lead_id,
        create_time=now, update_time=now, pipeline_version=pipeline.version, stage_enter_time=now,
        stage_category=stage.category, stage_probability=stage.probability, product_lines=lines, amount=amount,
        currency=currency, expected_close_date=expected_close_date,
        customer_key=registration.customer_key(customer_company), customer_id=customer_id,
        difficulty=Decimal(1) if difficulty is None else difficulty, quote_lines=tuple(quote_lines),
        registration_state=registration.ACTIVE if owner_id else registration.UNASSIGNED)
    if owner_id:
        opportunity.events.append(OpportunityRegistered(opportunity))
    return opportunity


def queue_for_arbitration(opportunity: Opportunity, collision: registration.Collision) -> None:
    """A registration that collided, kept for a manager instead of refused (queue mode, converted leads)."""
    opportunity.registration_state = registration.PENDING_ARBITRATION
    opportunity.collides_with = collision.holding.opportunity_id
    opportunity.events.append(OpportunityRegistrationQueued(opportunity, collision))


def register_from_lead(*, id: str, lead_id: str, title: str, customer_company: str, contact_name: str,
                       contact_phone: str, contact_email: str, region: str, source: str, owner_id: str,
                       registrant_id: str, pipeline: Pipeline, now: datetime) -> Opportunity:
    """A deal registered from a converted lead, in the pipeline's first open stage."""
    return register(id=id, lead_id=lead_id, title=title, customer_company=customer_company,
                    contact_name=contact_name, contact_phone=contact_phone, contact_email=contact_email,
                    region=region, source=source, owner_id=owner_id, registrant_id=registrant_id, pipeline=pipeline,
                    now=now)
