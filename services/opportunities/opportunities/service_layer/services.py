"""Opportunities use cases: a command in, state and events out, one transaction each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from opportunities.domain import model
from shangji_kit import paging, visibility
from shangji_kit.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

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


UPDATABLE_FIELDS = frozenset({"title"})


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
    """Change the fields in the mask (title). NOT_FOUND when the caller may not see the deal, PERMISSION_DENIED
    when they see it but may not change it, ABORTED when the etag or the version moved on."""
    if not cmd.update_mask:
        raise InvalidArgument.field("update_mask", "required: name the fields to change (title)")
    unknown = [p for p in cmd.update_mask if p not in UPDATABLE_FIELDS]
    if unknown:
        raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}; updatable: title")
    title = model.clean_title(cmd.title, "opportunity.title")
    user_id = _user_id(caller_id)
    now = datetime.now(UTC)
    with uow:
        opportunity = None
        if user_id is not None:
            viewer, active = _viewer(uow, user_id)
            opportunity = uow.opportunities.get_visible(cmd.opportunity_id, viewer)
        if opportunity is None:
            raise NotFound(f"opportunities/{cmd.opportunity_id}")
        member = uow.teams.get(opportunity.id, user_id) if active else None
        editor = model.Editor(user_id=user_id, active=active, team_can_edit=member.can_edit if member else None,
                              manages_owner=uow.org.manages(viewer, opportunity.owner_id))
        if not model.may_edit(editor, opportunity):
            raise PermissionDenied(f"you may see {opportunity.name} but not change it",
                                   reason="NOT_AN_EDITOR", metadata={"resource": opportunity.name})
        if cmd.etag and cmd.etag != opportunity.etag:
            raise Aborted(f"{opportunity.name} changed since it was read (etag {opportunity.etag}); re-read it",
                          metadata={"resource": opportunity.name, "etag": opportunity.etag})
        expected = opportunity.version
        opportunity.retitle(title, now, "opportunity.title")
        # Optimistic concurrency: a change committed since our read (an edit, a handover) moved the version on.
        if not uow.opportunities.update(opportunity, expected):
            raise Aborted(f"{opportunity.name} changed concurrently; re-read it", reason="CONCURRENT_UPDATE",
                          metadata={"resource": opportunity.name})
        uow.commit()
        return opportunity


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
