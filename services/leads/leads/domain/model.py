"""Leads, from capture to conversion. Plain Python: no database, no protos, no framework."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shangji_kit.contact import normalize_company, normalize_email, normalize_phone
from shangji_kit.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument

OPEN = "OPEN"
CONVERTED = "CONVERTED"


@dataclass
class Lead:
    id: str
    company: str
    contact_name: str
    phone: str
    email: str
    region: str
    source: str
    owner_id: str | None  # None: in the pool
    state: str
    convert_time: datetime | None
    create_time: datetime
    update_time: datetime
    version: int = 1
    industry: str = ""
    # When the current owner took it (capture, claim, assignment); None in the pool.
    hold_time: datetime | None = None
    last_follow_up_time: datetime | None = None
    # First follow-up of the current holding minus hold_time.
    first_response_time: timedelta | None = None
    # Who held it before the last return or recycle, and until when a recycle bars them from reclaiming it.
    previous_owner_id: str | None = None
    reclaim_barred_until: datetime | None = None
    # The recycle deadline a LeadRecycleWarning was emitted for (once per deadline).
    recycle_warned_for: datetime | None = None
    # Flagged at capture as a possible duplicate of this lead (dedupe_mode "flag"), for review.
    duplicate_of: str | None = None
    # Qualification (domain/scoring.py): the customer a conversion made or joined, the campaign it came
    # from, what scoring reads, and the score with its parts.
    customer_id: str | None = None
    campaign_id: str | None = None
    contact_title: str = ""
    company_size: str = ""
    flags: tuple[str, ...] = ()
    notes: str = ""
    behaviour_counts: dict = field(default_factory=dict)
    score: int = 0
    score_parts: tuple = ()
    qualification: str = "UNQUALIFIED"
    # The version of the scoring settings the score was computed with.
    scored_with: int = 1
    events: list = field(default_factory=list, repr=False, compare=False)
    # Changes of holder not yet written to the assignment history (the repository writes and empties it).
    assignments: list = field(default_factory=list, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"leads/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    def check_convertible(self, expected_etag: str = "") -> None:
        self.check_open(expected_etag)

    def check_open(self, expected_etag: str = "") -> None:
        """Still open, and (when an etag is given) unchanged since the caller read it."""
        if expected_etag and expected_etag != self.etag:
            raise Aborted(f"{self.name} has changed (etag {self.etag}, not {expected_etag}); re-read it",
                          metadata={"resource": self.name, "etag": self.etag})
        if self.state != OPEN:
            raise FailedPrecondition(f"{self.name} is already converted", reason="LEAD_ALREADY_CONVERTED",
                                     metadata={"resource": self.name})

    def new_version(self, now: datetime, since: int) -> None:
        """The lead changed since it was read at version ``since``: one new version (etag) for the change,
        however many steps made it."""
        if self.version == since:
            self.version += 1
        self.update_time = now

    def record_assignment(self, kind: str, previous_owner_id: str | None, actor_id: str | None, now: datetime, *,
                          reason: str = "", rules: tuple[str, ...] = ()) -> None:
        """Keep a change of holder (to ``self.owner_id``) for the assignment history, written with the change."""
        self.assignments.append(Assignment(id=str(uuid.uuid4()), lead_id=self.id, previous_owner_id=previous_owner_id,
                                           new_owner_id=self.owner_id, actor_id=actor_id, kind=kind, reason=reason,
                                           change_time=now, rules=tuple(rules)))

    def update_details(self, changes: dict) -> list[str]:
        """Set the qualifying details in ``changes`` (``clean_details``'s); the names of those that changed."""
        changed = [k for k, v in changes.items() if getattr(self, k) != v]
        for k in changed:
            setattr(self, k, changes[k])
        return changed

    def convert(self, by_user_id: str, title: str, now: datetime, expected_etag: str = "", *,
                customer_id: str | None = None, decision_chain: tuple = (), without_opportunity: bool = False,
                product_lines: tuple[str, ...] = ()) -> None:
        """Close the lead as converted into ``customer_id``; opportunities registers the deal (for
        ``product_lines``, see ``conversion_product_lines``) from the event unless ``without_opportunity``."""
        self.check_convertible(expected_etag)
        self.state = CONVERTED
        self.convert_time = now
        self.update_time = now
        self.customer_id = customer_id
        self.version += 1
        self.events.append(LeadConverted(lead=self, converted_by=by_user_id,
                                         opportunity_title=" ".join(title.split()) or self.company,
                                         convert_time=now, customer_id=customer_id,
                                         decision_chain=tuple(decision_chain),
                                         without_opportunity=without_opportunity,
                                         product_lines=tuple(product_lines)))


# The kinds of change in a lead's assignment history (LeadAssignment.kind).
CREATE = "create"
IMPORT = "import"
CLAIM = "claim"
ASSIGN = "assign"
AUTO_ASSIGN = "auto_assign"
RETURN = "return"
RECYCLE = "recycle"
HANDOVER = "handover"


@dataclass(frozen=True)
class Assignment:
    """One change of a lead's holder: from ``previous_owner_id`` to ``new_owner_id`` (None: the pool), by
    ``actor_id`` (None: the system, an operator's import), with the reason and, for the rules, those that chose."""

    id: str
    lead_id: str
    previous_owner_id: str | None
    new_owner_id: str | None
    actor_id: str | None
    kind: str
    change_time: datetime
    reason: str = ""
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeadCreated:
    lead: Lead
    # Who captured or imported it (None for an operator's import); notify tells an owner other than them.
    created_by: str | None = None
    imported: bool = False


@dataclass(frozen=True)
class LeadConverted:
    lead: Lead
    converted_by: str
    opportunity_title: str
    convert_time: datetime
    customer_id: str | None = None
    # The customer's contacts (customers.Contact) at conversion.
    decision_chain: tuple = ()
    without_opportunity: bool = False
    # The product lines the deal is registered for (opportunities checks them for collisions).
    product_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class HandOver:
    """teams moved a person's work to a successor: their OPEN leads change owner (a new version each,
    the move recorded); converted leads keep theirs. ``transfer_time`` is when teams made the transfer
    (None when it did not say). The repository applies it in one statement.
    """

    transfer_id: str
    from_owner_id: str
    to_owner_id: str
    transfer_time: datetime | None


# The qualifying details UpdateLead may change, with their length limits (campaign and flags are checked apart).
DETAIL_LIMITS = {"contact_title": 100, "company_size": 50, "industry": 100, "source": 100}


def conversion_product_lines(lines: tuple[str, ...], without_opportunity: bool) -> tuple[str, ...]:
    """The product lines a conversion registers its deal for, as opportunities' RegisterOpportunity takes them:
    trimmed, blanks and repeats dropped, first spelling kept. None is fine (the deal then holds no product line and
    collides with nothing); lines that are all blank, or lines for a conversion that registers no deal, are
    INVALID_ARGUMENT ``product_lines``."""
    cleaned = tuple(dict.fromkeys(p.strip() for p in lines if p.strip()))
    if lines and without_opportunity:
        raise InvalidArgument.field("product_lines", "a conversion without an opportunity registers no product "
                                                     "lines; drop them or without_opportunity")
    if lines and not cleaned:
        raise InvalidArgument.field("product_lines", "every product line is blank; name at least one or send none")
    return cleaned


def clean_details(values: dict, mask: set[str]) -> tuple[dict, list[FieldViolation]]:
    """The masked details with whitespace folded, and every one too long."""
    changes = {name: " ".join(values.get(name, "").split()) for name in DETAIL_LIMITS if name in mask}
    violations = [FieldViolation(f"lead.{name}", f"at most {DETAIL_LIMITS[name]} characters")
                  for name, value in changes.items() if len(value) > DETAIL_LIMITS[name]]
    return changes, violations


def _bounded(violations: list[FieldViolation], path: str, value: str, limit: int, *, required: bool) -> None:
    if required and not value:
        violations.append(FieldViolation(path, "required"))
    elif len(value) > limit:
        violations.append(FieldViolation(path, f"at most {limit} characters"))


def new_lead(*, id: str, company: str, contact_name: str, phone: str, email: str, region: str, source: str,
             owner_id: str | None, now: datetime, industry: str = "", contact_title: str = "", company_size: str = "",
             notes: str = "", campaign_id: str | None = None, flags: tuple[str, ...] = (),
             created_by: str | None = None, imported: bool = False) -> Lead:
    """Validate and normalise a lead to be created; every bad field is reported at once."""
    violations: list[FieldViolation] = []
    company = normalize_company(company)
    contact_name = contact_name.strip()
    region = region.strip()
    source = source.strip()
    industry = industry.strip()
    _bounded(violations, "lead.company", company, 200, required=True)
    _bounded(violations, "lead.contact_name", contact_name, 100, required=True)
    norm_phone = norm_email = ""
    if not phone.strip() and not email.strip():
        violations.append(FieldViolation("lead.phone", "one of phone or email is required"))
    if phone.strip():
        norm_phone = normalize_phone(phone) or ""
        if not norm_phone:
            violations.append(FieldViolation("lead.phone", f"not a valid phone number: {phone!r}"))
    if email.strip():
        norm_email = normalize_email(email) or ""
        if not norm_email:
            violations.append(FieldViolation("lead.email", f"not an email address: {email!r}"))
    _bounded(violations, "lead.region", region, 100, required=False)
    _bounded(violations, "lead.source", source, 100, required=False)
    _bounded(violations, "lead.industry", industry, 100, required=False)
    contact_title = " ".join(contact_title.split())
    company_size = " ".join(company_size.split())
    notes = notes.strip()
    _bounded(violations, "lead.contact_title", contact_title, 100, required=False)
    _bounded(violations, "lead.company_size", company_size, 50, required=False)
    _bounded(violations, "lead.notes", notes, 2000, required=False)
    if violations:
        raise InvalidArgument(violations)
    lead = Lead(id=id, company=company, contact_name=contact_name, phone=norm_phone, email=norm_email,
                region=region, source=source, owner_id=owner_id, state=OPEN, convert_time=None,
                create_time=now, update_time=now, industry=industry,
                hold_time=now if owner_id else None, contact_title=contact_title, company_size=company_size,
                notes=notes, campaign_id=campaign_id, flags=flags)
    lead.events.append(LeadCreated(lead, created_by=created_by, imported=imported))
    if owner_id is not None:
        lead.record_assignment(IMPORT if imported else CREATE, None, created_by, now)
    return lead
