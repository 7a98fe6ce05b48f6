"""Opportunities use cases: a command in, state and events out, one transaction each."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from opportunities.domain import model
from opportunities.domain.pipeline import pipeline_from_dict
from shangji_kit import paging, visibility
from shangji_kit.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

if TYPE_CHECKING:  # the unit of work imports protomap, which builds this module's commands
    from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork

LEAD_CONVERTED_CONSUMER = "opportunities.on_lead_converted"
LEAD_CONVERTED_TYPE = "shangji.leads.v1.LeadConverted"


@dataclass(frozen=True)
class RegisterFromConversion:
    lead_id: str
    owner_id: str
    registrant_id: str
    title: str
    customer_company: str
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    region: str = ""
    source: str = ""


@dataclass(frozen=True)
class OpportunityPage:
    opportunities: list[model.Opportunity]
    next_page_token: str


def register_from_conversion(cmd: RegisterFromConversion, event_id: str,
                             uow: OpportunitiesUnitOfWork) -> model.Opportunity | None:
    """The deal a converted lead yields; None when this event or this lead was already handled."""
    now = datetime.now(UTC)
    with uow:
        if not uow.claim_event(LEAD_CONVERTED_CONSUMER, event_id, LEAD_CONVERTED_TYPE):
            return None
        pipeline = uow.pipelines.default()
        if pipeline is None:
            raise FailedPrecondition("no default pipeline is configured", reason="NO_DEFAULT_PIPELINE")
        opportunity = model.register_from_lead(
            id=str(uuid.uuid4()), lead_id=cmd.lead_id, title=cmd.title, customer_company=cmd.customer_company,
            contact_name=cmd.contact_name, contact_phone=cmd.contact_phone, contact_email=cmd.contact_email,
            region=cmd.region, source=cmd.source, owner_id=cmd.owner_id, registrant_id=cmd.registrant_id,
            pipeline=pipeline, now=now)
        registered = uow.opportunities.add(opportunity)
        if registered:
            uow.history.enter(opportunity.id, opportunity.stage_key, now, cmd.registrant_id)
            uow.publish(opportunity.events)
        # Commit even when the lead already had its deal (another event id for the same conversion):
        # the inbox row must stick so this delivery is not handled again.
        uow.commit()
        return opportunity if registered else None


# --- reading and changing deals under the visibility rules ----------------------------------------

@dataclass(frozen=True)
class UpdateOpportunity:
    opportunity_id: str
    title: str
    update_mask: tuple[str, ...]
    etag: str = ""
    amount: str = ""
    currency: str = ""
    expected_close_date: str = ""
    probability: int = 0
    probability_note: str = ""
    checklist: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()


UPDATABLE_FIELDS = ("title", "amount", "currency", "expected_close_date", "probability", "probability_note",
                    "checklist", "product_lines")


def get_opportunity(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    """One deal the caller may see; NOT_FOUND alike for a missing deal and for one they may not see."""
    user_id = _user_id(caller_id)
    with uow:
        opportunity = None
        if user_id is not None:
            viewer, active = _viewer(uow, user_id)
            opportunity = uow.opportunities.get_visible(opportunity_id, viewer)
        if opportunity is None:
            raise NotFound(f"opportunities/{opportunity_id}")
        return opportunity


def list_opportunities(caller_id: str, page_size: int, page_token: str,
                       uow: OpportunitiesUnitOfWork) -> OpportunityPage:
    """The opportunities the caller may see, newest first, one page at a time."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    user_id = _user_id(caller_id)
    if user_id is None:
        return OpportunityPage([], "")
    with uow:
        viewer, active = _viewer(uow, user_id)
        # One row beyond the page tells whether another page exists, so the last page carries no token.
        rows = uow.opportunities.list_visible(viewer, limit + 1, after)
    page = rows[:limit]
    token = paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""
    return OpportunityPage(page, token)


def update_opportunity(cmd: UpdateOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    """Change the fields in the mask. NOT_FOUND when the caller may not see the deal, PERMISSION_DENIED
    when they see it but may not change it, ABORTED when the etag or the version moved on."""
    if not cmd.update_mask:
        raise InvalidArgument.field("update_mask",
                                    f"required: name the fields to change ({', '.join(UPDATABLE_FIELDS)})")
    unknown = [p for p in cmd.update_mask if p not in UPDATABLE_FIELDS]
    if unknown:
        raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}; updatable: "
                                                   f"{', '.join(UPDATABLE_FIELDS)}")
    mask = set(cmd.update_mask)
    title = model.clean_title(cmd.title, "opportunity.title") if "title" in mask else None
    changes: dict[str, object] = {}
    if "amount" in mask:
        changes["amount"] = model.parse_amount(cmd.amount, "opportunity.amount")
    if "currency" in mask:
        changes["currency"] = cmd.currency
    if "expected_close_date" in mask:
        changes["expected_close_date"] = model.parse_date(cmd.expected_close_date, "opportunity.expected_close_date")
    if "probability" in mask:
        changes["probability"] = cmd.probability
    if "probability_note" in mask or "probability" in mask:
        changes["probability_note"] = cmd.probability_note
    if "checklist" in mask:
        changes["checklist"] = tuple(cmd.checklist)
    if "product_lines" in mask:
        changes["product_lines"] = tuple(cmd.product_lines)
    now = datetime.now(UTC)
    with uow:
        opportunity, _ = _editable(uow, cmd.opportunity_id, caller_id, cmd.etag)
        expected = opportunity.version
        if title is not None:
            opportunity.retitle(title, now, "opportunity.title")
        if changes:
            opportunity.change(changes, _pipeline_of(uow, opportunity), now.date(), now)
        _save(uow, opportunity, expected)
        uow.commit()
        return opportunity


def _editable(uow: OpportunitiesUnitOfWork, opportunity_id: str, caller_id: str, etag: str
              ) -> tuple[model.Opportunity, str]:
    """The deal and the caller's user id, when the caller may change it and holds its current etag (if given)."""
    user_id = _user_id(caller_id)
    opportunity = None
    active = False
    if user_id is not None:
        viewer, active = _viewer(uow, user_id)
        opportunity = uow.opportunities.get_visible(opportunity_id, viewer)
    if opportunity is None:
        raise NotFound(f"opportunities/{opportunity_id}")
    member = uow.teams.get(opportunity.id, user_id) if active else None
    editor = model.Editor(user_id=user_id, active=active, team_can_edit=member.can_edit if member else None,
                          manages_owner=uow.org.manages(viewer, opportunity.owner_id))
    if not model.may_edit(editor, opportunity):
        raise PermissionDenied(f"you may see {opportunity.name} but not change it",
                               reason="NOT_AN_EDITOR", metadata={"resource": opportunity.name})
    if etag and etag != opportunity.etag:
        raise Aborted(f"{opportunity.name} changed since it was read (etag {opportunity.etag}); re-read it",
                      metadata={"resource": opportunity.name, "etag": opportunity.etag})
    return opportunity, user_id


def _save(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity, expected_version: int) -> None:
    """Write the deal back, its stage moves into the history and its events into the outbox."""
    # Optimistic concurrency: a change committed since our read (an edit, a move, a handover) moved the version on.
    if not uow.opportunities.update(opportunity, expected_version):
        raise Aborted(f"{opportunity.name} changed concurrently; re-read it", reason="CONCURRENT_UPDATE",
                      metadata={"resource": opportunity.name})
    for event in opportunity.events:
        if isinstance(event, model.StageMove):
            uow.history.enter(opportunity.id, event.to_stage, event.change_time, event.actor_id, event.reason)
    uow.publish(opportunity.events)


def _pipeline_of(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity) -> model.Pipeline:
    pipeline = uow.pipelines.get(opportunity.pipeline_id, opportunity.pipeline_version)
    if pipeline is None:  # the foreign key keeps this from happening
        raise FailedPrecondition(f"{opportunity.name}: pipeline version {opportunity.pipeline_version} is missing",
                                 reason="PIPELINE_MISSING")
    return pipeline


# --- the lifecycle: advance, win, lose, reopen ----------------------------------------------------------

@dataclass(frozen=True)
class AdvanceStage:
    opportunity_id: str
    etag: str = ""
    target_stage: str = ""
    reason: str = ""


@dataclass(frozen=True)
class WinOpportunity:
    opportunity_id: str
    etag: str = ""
    amount: str = ""
    win_date: str = ""


@dataclass(frozen=True)
class LoseOpportunity:
    opportunity_id: str
    reason: str
    etag: str = ""
    competitor: str = ""


@dataclass(frozen=True)
class ReopenOpportunity:
    opportunity_id: str
    reason: str
    etag: str = ""


def _change_stage(opportunity_id: str, etag: str, caller_id: str, uow: OpportunitiesUnitOfWork,
                  act: Callable[[model.Opportunity, model.Pipeline, str, datetime], None]) -> model.Opportunity:
    now = datetime.now(UTC)
    with uow:
        opportunity, user_id = _editable(uow, opportunity_id, caller_id, etag)
        expected = opportunity.version
        act(opportunity, _pipeline_of(uow, opportunity), user_id, now)
        _save(uow, opportunity, expected)
        uow.commit()
        return opportunity


def advance_stage(cmd: AdvanceStage, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    """Move a deal through its pipeline's gates (model.Opportunity.advance), as one who may change it."""
    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow,
                         lambda o, p, user_id, now: o.advance(p, cmd.target_stage.strip(), cmd.reason, user_id, now))


def win_opportunity(cmd: WinOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    amount = model.parse_amount(cmd.amount, "amount")
    win_date = model.parse_date(cmd.win_date, "win_date")
    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow,
                         lambda o, p, user_id, now: o.win(p, amount, win_date or now.date(), now.date(), user_id, now))


def lose_opportunity(cmd: LoseOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow,
                         lambda o, p, user_id, now: o.lose(p, cmd.reason, cmd.competitor, user_id, now))


def reopen_opportunity(cmd: ReopenOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    """A won or lost deal back in the open stage it was closed from."""
    def act(o: model.Opportunity, p: model.Pipeline, user_id: str, now: datetime) -> None:
        stays = uow.history.list(o.id)
        closed_from = next((p.find(s.stage_key) for s in reversed(stays)
                            if p.find(s.stage_key) is not None and p.find(s.stage_key).category == model.OPEN), None)
        o.reopen(p, closed_from or p.first_open_stage(), cmd.reason, user_id, now)

    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow, act)


@dataclass(frozen=True)
class StageHistory:
    pipeline: model.Pipeline
    stays: list[model.StageStay]
    now: datetime


def list_stage_history(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> StageHistory:
    """A visible deal's stays in its stages, oldest first."""
    opportunity = get_opportunity(opportunity_id, caller_id, uow)
    with uow:
        return StageHistory(_pipeline_of(uow, opportunity), uow.history.list(opportunity.id), datetime.now(UTC))


# --- pipelines -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PipelinePage:
    pipelines: list[model.Pipeline]
    next_page_token: str


def create_pipeline(definition: dict, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Pipeline:
    """A new pipeline at version 1, defined by sales ops or an admin; ALREADY_EXISTS when its key is taken."""
    pipeline = model_pipeline(definition)
    user_id = _user_id(caller_id)
    with uow:
        viewer = uow.org.viewer(user_id) if user_id else None
        if viewer is None or not viewer.sees_everything or viewer.deactivated:
            raise PermissionDenied("only sales ops and admins define pipelines", reason="NOT_A_PIPELINE_ADMIN")
        if not uow.pipelines.add(pipeline):
            raise AlreadyExists(f"a pipeline with key {pipeline.key!r} exists; load a new version of it instead",
                                metadata={"key": pipeline.key})
        uow.commit()
    return uow_pipeline(uow, pipeline.id)


def load_pipeline(definition: dict, uow: OpportunitiesUnitOfWork) -> model.Pipeline:
    """The CLI's load: a new pipeline, or the next version of the one with this key (deals keep their version)."""
    pipeline = model_pipeline(definition)
    with uow:
        existing = uow.pipelines.id_of(pipeline.key, lock=True)
        if existing is None:
            if not uow.pipelines.add(pipeline):
                raise Aborted(f"pipeline {pipeline.key} was created concurrently; load again")
            pipeline_id = pipeline.id
        else:
            uow.pipelines.add_version(existing, pipeline)
            pipeline_id = existing
        uow.commit()
    return uow_pipeline(uow, pipeline_id)


def model_pipeline(definition: dict) -> model.Pipeline:
    return pipeline_from_dict(definition, id=str(uuid.uuid4()))


def uow_pipeline(uow: OpportunitiesUnitOfWork, pipeline_id: str, version: int | None = None) -> model.Pipeline:
    with uow:
        pipeline = uow.pipelines.get(pipeline_id, version)
    if pipeline is None:
        raise NotFound(f"pipelines/{pipeline_id}" + (f" version {version}" if version else ""))
    return pipeline


def get_pipeline(pipeline_id: str, version: int, uow: OpportunitiesUnitOfWork) -> model.Pipeline:
    if version < 0:
        raise InvalidArgument.field("version", "must not be negative")
    return uow_pipeline(uow, pipeline_id, version or None)


def list_pipelines(page_size: int, page_token: str, uow: OpportunitiesUnitOfWork) -> PipelinePage:
    """Pipelines (latest versions) by key, one page at a time."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    with uow:
        rows = uow.pipelines.list_latest(limit + 1, after[1] if after else None)
    page = rows[:limit]
    # The kit's token carries (time, id); pipelines page by key, so the time is a constant and the id the last seen.
    token = paging.encode_token(datetime.fromtimestamp(0, UTC), page[-1].id) if len(rows) > limit else ""
    return PipelinePage(page, token)


def _viewer(uow: OpportunitiesUnitOfWork, user_id: str) -> tuple[visibility.Viewer, bool]:
    """The kit's viewer, and whether the caller is active (a deactivated user keeps only their own deals)."""
    viewer = uow.org.viewer(user_id)
    return viewer, not viewer.deactivated


# --- keeping teams' organisation and opportunity teams (consumed events) ------------------------------

def _consumer(method: str) -> str:
    return f"opportunities.{method}"


USER_CREATED_CONSUMER = _consumer("on_user_created")
USER_UPDATED_CONSUMER = _consumer("on_user_updated")
USER_DEACTIVATED_CONSUMER = _consumer("on_user_deactivated")
DEPARTMENT_CHANGED_CONSUMER = _consumer("on_department_changed")
OWNERSHIP_TRANSFERRED_CONSUMER = _consumer("on_ownership_transferred")
TEAM_MEMBER_ADDED_CONSUMER = _consumer("on_team_member_added")
TEAM_MEMBER_REMOVED_CONSUMER = _consumer("on_team_member_removed")


@dataclass(frozen=True)
class Delivery:
    """One event as its consumer received it: the inbox claims (consumer, event_id)."""

    consumer: str
    event_id: str
    event_type: str


@dataclass(frozen=True)
class RemoveTeamMember:
    opportunity_id: str
    user_id: str


@dataclass(frozen=True)
class TransferOwnership:
    transfer_id: str
    from_user_id: str
    to_user_id: str
    transfer_time: datetime | None = None


def record_user(user: visibility.OrgUser, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """A user's state from teams (created, updated, deactivated); an older state than the one held is ignored.
    False when this delivery was already handled."""
    with uow:
        if not uow.claim_event(delivery.consumer, delivery.event_id, delivery.event_type):
            return False
        uow.org.apply_user(user)
        uow.commit()
        return True


def record_department(department: visibility.OrgDepartment, delivery: Delivery,
                      uow: OpportunitiesUnitOfWork) -> bool:
    """A department's state from teams; an older state than the one held is ignored."""
    with uow:
        if not uow.claim_event(delivery.consumer, delivery.event_id, delivery.event_type):
            return False
        uow.org.apply_department(department)
        uow.commit()
        return True


def add_team_member(member: model.TeamMember, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Put a person on a deal's team; someone already on it stays as they are. False when nothing changed."""
    with uow:
        if not uow.claim_event(delivery.consumer, delivery.event_id, delivery.event_type):
            return False
        added = uow.teams.add(member)
        uow.commit()
        return added


def remove_team_member(cmd: RemoveTeamMember, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Take a person off a deal's team. False when nothing changed."""
    with uow:
        if not uow.claim_event(delivery.consumer, delivery.event_id, delivery.event_type):
            return False
        removed = uow.teams.remove(cmd.opportunity_id, cmd.user_id)
        uow.commit()
        return removed


def transfer_ownership(cmd: TransferOwnership, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> list[str]:
    """Hand every open deal of ``from_user`` to ``to_user`` (won and lost deals stay), recording each move
    under the transfer id; the ids of the deals moved ([] for a redelivery)."""
    now = datetime.now(UTC)
    with uow:
        if not uow.claim_event(delivery.consumer, delivery.event_id, delivery.event_type):
            return []
        moved = []
        if cmd.from_user_id != cmd.to_user_id:
            moved = uow.opportunities.transfer_open(cmd.from_user_id, cmd.to_user_id, cmd.transfer_id,
                                                    cmd.transfer_time or now, now)
        uow.commit()
        return moved


def _user_id(caller_id: str) -> str | None:
    """The caller as a users.id, or None when the token's subject is not one (it then owns nothing)."""
    try:
        return str(uuid.UUID(caller_id))
    except (ValueError, TypeError):
        return None
