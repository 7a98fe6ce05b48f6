"""Leads use cases: a command in, state and events out, one transaction each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from leads.domain import model
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import names
from shangji_kit.errors import FieldViolation, InvalidArgument, NotFound, Unauthenticated


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


def _user_id(caller_id: str) -> str:
    # Owner ids are stored as UUIDs; a token whose subject is not one cannot own or see a lead.
    try:
        return str(uuid.UUID(caller_id))
    except ValueError as exc:
        raise Unauthenticated("the token's subject is not a user id", reason="INVALID_SUBJECT") from exc


def _visible(lead: model.Lead | None, lead_id: str, caller_id: str) -> model.Lead:
    # Until leads keeps a projection of teams (managers, team members, roles), only the owner sees a
    # lead. Anyone else gets the answer a missing id gets, so ids cannot be probed.
    if lead is None or lead.owner_id != caller_id:
        raise NotFound(f"leads/{lead_id}")
    return lead


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
        if uow.leads.add(lead, cmd.request_id) is None:
            # A concurrent create with the same request id committed first; ours wrote nothing.
            return uow.leads.get_by_request_id(cmd.request_id)
        uow.publish(lead.events)
        uow.commit()
        return lead


def get_lead(lead_id: str, caller_id: str, uow: LeadsUnitOfWork) -> model.Lead:
    with uow:
        return _visible(uow.leads.get(lead_id), lead_id, _user_id(caller_id))


def convert_lead(lead_id: str, caller_id: str, etag: str, title: str, uow: LeadsUnitOfWork) -> model.Lead:
    caller_id = _user_id(caller_id)
    with uow:
        lead = _visible(uow.leads.get(lead_id), lead_id, caller_id)
        read_version = lead.version
        lead.convert(by_user_id=caller_id, title=title, now=datetime.now(UTC), expected_etag=etag)
        uow.leads.update(lead, read_version)
        uow.publish(lead.events)
        uow.commit()
        return lead
