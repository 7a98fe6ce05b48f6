"""Opportunities and the pipelines they move through. Plain Python: no database, no protos, no framework."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shangji_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument

OPEN, WON, LOST = "open", "won", "lost"
TITLE_MAX = 200


@dataclass(frozen=True)
class Stage:
    key: str
    display_name: str
    category: str
    probability: int
    position: int


@dataclass(frozen=True)
class Pipeline:
    id: str
    key: str
    display_name: str
    is_default: bool
    stages: tuple[Stage, ...]

    @property
    def name(self) -> str:
        return f"pipelines/{self.id}"

    def first_open_stage(self) -> Stage:
        """Where a new deal starts: the lowest-positioned stage that is neither won nor lost."""
        for stage in sorted(self.stages, key=lambda s: s.position):
            if stage.category == OPEN:
                return stage
        raise FailedPrecondition(f"pipeline {self.key} has no open stage", reason="NO_OPEN_STAGE",
                                 metadata={"pipeline": self.name})


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
    owner_id: str
    registrant_id: str
    pipeline_id: str
    stage_key: str
    stage_display_name: str
    lead_id: str | None
    create_time: datetime
    update_time: datetime
    version: int = 1
    events: list = field(default_factory=list, repr=False, compare=False)

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


@dataclass(frozen=True)
class OpportunityRegistered:
    opportunity: Opportunity


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


def register_from_lead(*, id: str, lead_id: str, title: str, customer_company: str, contact_name: str,
                       contact_phone: str, contact_email: str, region: str, source: str, owner_id: str,
                       registrant_id: str, pipeline: Pipeline, now: datetime) -> Opportunity:
    """A deal registered from a converted lead, in the pipeline's first open stage."""
    title, customer_company = title.strip(), customer_company.strip()
    violations = []
    if not customer_company:
        violations.append(FieldViolation("customer_company", "required"))
    if not (title or customer_company):
        violations.append(FieldViolation("title", "required"))
    elif len(title) > TITLE_MAX:
        violations.append(FieldViolation("title", f"at most {TITLE_MAX} characters"))
    if violations:
        raise InvalidArgument(violations)
    stage = pipeline.first_open_stage()
    opportunity = Opportunity(
        id=id, title=title or customer_company, customer_company=customer_company,
        contact_name=contact_name.strip(), contact_phone=contact_phone.strip(), contact_email=contact_email.strip(),
        region=region.strip(), source=source.strip(), owner_id=owner_id, registrant_id=registrant_id,
        pipeline_id=pipeline.id, stage_key=stage.key, stage_display_name=stage.display_name, lead_id=lead_id,
        create_time=now, update_time=now)
    opportunity.events.append(OpportunityRegistered(opportunity))
    return opportunity
