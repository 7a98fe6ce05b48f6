"""Leads use cases: a command in, state and events out, one transaction each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from leads.domain import model
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import names, paging
from shangji_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from shangji_kit.visibility import OrgDepartment, OrgUser


@dataclass(frozen=True)
class CreateLead:
    company: str
    contact_name: str
    phone: str = ""
    email: str = ""
    region: str = ""
    source: str = ""
    owner: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class LeadPage:
    leads: list[model.Lead]
    next_page_token: str


@dataclass(frozen=True)
class Delivery:
    """The event a handler is consuming, as its inbox records it (consumer ``leads.<method>``)."""

    consumer: str
    event_id: str
    event_type: str


def _user_id(caller_id: str) -> str:
    # Owner ids are stored as UUIDs; a token whose subject is not one cannot own or see a lead.
    try:
        return str(uuid.UUID(caller_id))
    except ValueError as exc:
        raise Unauthenticated("the token's subject is not a user id", reason="INVALID_SUBJECT") from exc


def _check_new_owner(uow: LeadsUnitOfWork, caller_id: str, owner_id: str) -> None:
    """Someone else as a lead's owner: a user teams has told us about and not deactivated, and the
    caller a manager above them or sales ops / admin."""
    owner = names.format("users", owner_id)
    active = uow.org.is_active(owner_id)
    if active is None:
        # teams' UserCreated may reach us a moment after the user exists; the client can retry.
        raise InvalidArgument.field("lead.owner", f"{owner} is not a user leads knows (yet)")
    if not active:
        raise FailedPrecondition(f"{owner} is deactivated and cannot own leads", reason="INACTIVE_USER",
                                 metadata={"user": owner})
    viewer = uow.org.viewer(caller_id)
    if not (viewer.sees_everything or uow.org.manages(viewer, owner_id)):
        raise PermissionDenied(f"only {owner} themself, a manager above them, or sales ops may give them a lead",
                               metadata={"user": owner})


def create_lead(cmd: CreateLead, caller_id: str, uow: LeadsUnitOfWork) -> model.Lead:
    caller_id = _user_id(caller_id)
    owner_id = caller_id
    owner_violations: list[FieldViolation] = []
    if cmd.owner:
        try:
            owner_id = names.parse(cmd.owner, "users", "lead.owner")
        except InvalidArgument as exc:
            owner_violations = exc.violations
    try:
        lead = model.new_lead(id=str(uuid.uuid4()), company=cmd.company, contact_name=cmd.contact_name,
                              phone=cmd.phone, email=cmd.email, region=cmd.region, source=cmd.source,
                              owner_id=owner_id, now=datetime.now(UTC))
    except InvalidArgument as exc:
        raise InvalidArgument(exc.violations + owner_violations) from None
    if owner_violations:
        raise InvalidArgument(owner_violations)
    with uow:
        if cmd.request_id:
            earlier = uow.leads.get_by_request_id(cmd.request_id)
            if earlier:
                return earlier
        if owner_id != caller_id:
            # The caller as owner (named or not) needs no projection row: teams may not have told us yet.
            _check_new_owner(uow, caller_id, owner_id)
        if uow.leads.add(lead, cmd.request_id) is None:
            # A concurrent create with the same request id committed first; ours wrote nothing.
            return uow.leads.get_by_request_id(cmd.request_id)
        uow.publish(lead.events)
        uow.commit()
        return lead


def get_lead(lead_id: str, caller_id: str, uow: LeadsUnitOfWork) -> model.Lead:
    caller_id = _user_id(caller_id)
    with uow:
        lead = uow.leads.get_visible(lead_id, uow.org.viewer(caller_id))
    # A lead the caller may not see gets the answer a missing id gets, so ids cannot be probed.
    if lead is None:
        raise NotFound(f"leads/{lead_id}")
    return lead


def list_leads(caller_id: str, page_size: int, page_token: str, uow: LeadsUnitOfWork) -> LeadPage:
    """The leads the caller may see, newest first, one page at a time."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    caller_id = _user_id(caller_id)
    with uow:
        # One row beyond the page tells whether another page exists, so the last page carries no token.
        rows = uow.leads.list_visible(uow.org.viewer(caller_id), limit + 1, after)
    page = rows[:limit]
    token = paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""
    return LeadPage(page, token)


def convert_lead(lead_id: str, caller_id: str, etag: str, title: str, uow: LeadsUnitOfWork) -> model.Lead:
    caller_id = _user_id(caller_id)
    with uow:
        viewer = uow.org.viewer(caller_id)
        lead = uow.leads.get_visible(lead_id, viewer)
        if lead is None:
            raise NotFound(f"leads/{lead_id}")
        # Seeing a lead (sales ops, say) is not enough to convert it: its owner or a manager above them.
        if lead.owner_id != caller_id and not uow.org.manages(viewer, lead.owner_id):
            raise PermissionDenied(f"only the owner of {lead.name} or a manager above them may convert it",
                                   metadata={"resource": lead.name})
        read_version = lead.version
        lead.convert(by_user_id=caller_id, title=title, now=datetime.now(UTC), expected_etag=etag)
        uow.leads.update(lead, read_version)
        uow.publish(lead.events)
        uow.commit()
        return lead


# --- teams' events -------------------------------------------------------------------------------

def record_user(user: OrgUser, delivery: Delivery, uow: LeadsUnitOfWork) -> bool:
    """UserCreated/UserUpdated/UserDeactivated into the projection; False for a redelivery.

    A state older than the one held is ignored (by update time), so reordered events leave it right.
    """
    with uow:
        if not uow.claim_event(delivery.consumer, delivery.event_id, delivery.event_type):
            return False
        uow.org.apply_user(user)
        uow.commit()
        return True


def record_department(department: OrgDepartment, delivery: Delivery, uow: LeadsUnitOfWork) -> bool:
    """DepartmentChanged into the projection; False for a redelivery. Older states are ignored."""
    with uow:
        if not uow.claim_event(delivery.consumer, delivery.event_id, delivery.event_type):
            return False
        uow.org.apply_department(department)
        uow.commit()
        return True


def hand_over(cmd: model.HandOver, delivery: Delivery, uow: LeadsUnitOfWork) -> list[str]:
    """Every OPEN lead of the previous owner goes to the successor, each move recorded in
    ``owner_changes``; converted leads keep their owner. The ids moved ([] for a redelivery)."""
    now = datetime.now(UTC)
    with uow:
        if not uow.claim_event(delivery.consumer, delivery.event_id, delivery.event_type):
            return []
        moved = []
        if cmd.from_owner_id != cmd.to_owner_id:
            moved = uow.leads.hand_over_open(cmd.from_owner_id, cmd.to_owner_id, cmd.transfer_id,
                                             cmd.transfer_time or now, now)
        uow.commit()
        return moved
