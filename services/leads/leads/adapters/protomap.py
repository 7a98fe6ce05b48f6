"""The one module that converts between leads' protos (and the events it consumes) and its domain objects."""

from __future__ import annotations

import functools
from datetime import UTC
from typing import TYPE_CHECKING

from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from leads.domain import dedupe, importing, model, pool
from shangji.leads.v1 import events_pb2, leads_pb2
from shangji.teams.v1 import events_pb2 as teams_events
from shangji_kit import names
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument
from shangji_kit.visibility import OrgDepartment, OrgUser

if TYPE_CHECKING:  # the service layer imports this module through its unit of work
    from leads.service_layer.services import Captured, LeadPage

_STATES = {model.OPEN: leads_pb2.Lead.State.OPEN, model.CONVERTED: leads_pb2.Lead.State.CONVERTED}


def _ts(value) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def _user(user_id: str | None) -> str:
    return names.format("users", user_id) if user_id else ""


def lead_to_proto(lead: model.Lead) -> leads_pb2.Lead:
    message = leads_pb2.Lead(
        name=lead.name, id=lead.id, company=lead.company, contact_name=lead.contact_name, phone=lead.phone,
        email=lead.email, region=lead.region, source=lead.source, owner=_user(lead.owner_id),
        state=_STATES[lead.state], create_time=_ts(lead.create_time), update_time=_ts(lead.update_time),
        etag=lead.etag, industry=lead.industry,
        duplicate_of=names.format("leads", lead.duplicate_of) if lead.duplicate_of else "")
    if lead.convert_time is not None:
        message.convert_time.CopyFrom(_ts(lead.convert_time))
    if lead.hold_time is not None:
        message.hold_time.CopyFrom(_ts(lead.hold_time))
    if lead.last_follow_up_time is not None:
        message.last_follow_up_time.CopyFrom(_ts(lead.last_follow_up_time))
    if lead.first_response_time is not None:
        duration = Duration()
        duration.FromTimedelta(lead.first_response_time)
        message.first_response_time.CopyFrom(duration)
    return message


def captured_to_proto(captured: Captured) -> leads_pb2.Lead:
    """CreateLead's answer: the lead (only its name when merged into one the caller may not see) and
    what de-duplication did."""
    if captured.visible:
        message = lead_to_proto(captured.lead)
    else:
        message = leads_pb2.Lead(name=captured.lead.name, id=captured.lead.id)
    message.merged = captured.result == "MERGED"
    return message


def _incoming_to_proto(lead: model.Lead) -> leads_pb2.Lead:
    """A lead that came in and was merged: its fields, no identity."""
    return leads_pb2.Lead(company=lead.company, contact_name=lead.contact_name, phone=lead.phone, email=lead.email,
                          region=lead.region, source=lead.source, industry=lead.industry,
                          owner=_user(lead.owner_id))


def import_header(header: leads_pb2.ImportHeader) -> dict:
    return {"columns": list(header.columns), "owner": header.owner, "to_pool": header.to_pool,
            "all_or_nothing": header.all_or_nothing, "file_name": header.file_name}


def import_rows(message: leads_pb2.ImportRows) -> list[tuple[int, list[str]]]:
    return [(row.row_number, list(row.values)) for row in message.rows]


def import_report_to_proto(report: importing.ImportReport) -> leads_pb2.ImportLeadsResponse:
    return leads_pb2.ImportLeadsResponse(
        accepted=report.accepted, merged=report.merged, flagged=report.flagged, rejected=report.rejected_rows,
        already_imported=report.already_imported, committed=report.committed,
        content_sha256=report.content_sha256,
        rejections=[leads_pb2.ImportRejection(row_number=r.row_number, field=r.field, reason=r.reason)
                    for r in report.rejections])


@functools.lru_cache(maxsize=4096)  # an import's leads share their times
def _ts_json(value) -> str:
    """A timestamp as proto3 JSON writes it (UTC, "Z", 0, 3 or 6 fractional digits)."""
    value = value.astimezone(UTC)
    us = value.microsecond
    frac = "" if not us else f".{us // 1000:03d}" if us % 1000 == 0 else f".{us:06d}"
    return value.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def lead_json(lead: model.Lead) -> dict:
    """``MessageToDict(lead_to_proto(lead))``, built directly for a lead as captured or imported (an import
    writes an event per lead, and MessageToDict cost more than the rest of a row); other leads go
    through MessageToDict. tests/unit/test_protomap.py holds the two equal."""
    if lead.convert_time or lead.last_follow_up_time or lead.first_response_time is not None:
        return json_format.MessageToDict(lead_to_proto(lead))
    out = {"name": lead.name, "id": lead.id}
    for key, value in (("company", lead.company), ("contactName", lead.contact_name), ("phone", lead.phone),
                       ("email", lead.email), ("region", lead.region), ("source", lead.source),
                       ("owner", _user(lead.owner_id))):
        if value:
            out[key] = value
    out["state"] = lead.state
    out["createTime"] = _ts_json(lead.create_time)
    out["updateTime"] = _ts_json(lead.update_time)
    out["etag"] = lead.etag
    if lead.industry:
        out["industry"] = lead.industry
    if lead.hold_time is not None:
        out["holdTime"] = _ts_json(lead.hold_time)
    if lead.duplicate_of:
        out["duplicateOf"] = names.format("leads", lead.duplicate_of)
    return out


_CREATED = events_pb2.LeadCreated.DESCRIPTOR.full_name


def outbox_rows(events: list) -> list[tuple[str, str, dict]]:
    """Events as (type, subject, proto3 JSON payload) for a bulk write of the outbox; LeadCreated built
    directly (``lead_json``), the rest through ``event_to_proto``."""
    rows = []
    for event in events:
        if isinstance(event, model.LeadCreated):
            rows.append((_CREATED, event.lead.name, {"lead": lead_json(event.lead)}))
        else:
            message, subject = event_to_proto(event)
            rows.append((message.DESCRIPTOR.full_name, subject, json_format.MessageToDict(message)))
    return rows


def claim_response(leads: list[model.Lead]) -> leads_pb2.ClaimLeadsResponse:
    return leads_pb2.ClaimLeadsResponse(leads=[lead_to_proto(lead) for lead in leads])


def assign_response(leads: list[model.Lead]) -> leads_pb2.AssignLeadsResponse:
    return leads_pb2.AssignLeadsResponse(leads=[lead_to_proto(lead) for lead in leads])


_KINDS = {name: leads_pb2.FollowUp.Kind.Value(name) for name in pool.FOLLOW_UP_KINDS}


def follow_up_kind(kind: int) -> str:
    """The domain's kind for a FollowUp.Kind; "" for an unknown or unset one (the domain rejects it)."""
    return leads_pb2.FollowUp.Kind.Name(kind) if kind in _KINDS.values() else ""


def follow_up_to_proto(follow_up: pool.FollowUp) -> leads_pb2.FollowUp:
    return leads_pb2.FollowUp(name=follow_up.name, kind=_KINDS[follow_up.kind], note=follow_up.note,
                              author=_user(follow_up.author_id), create_time=_ts(follow_up.create_time))


def page_to_proto(page: LeadPage) -> leads_pb2.ListLeadsResponse:
    return leads_pb2.ListLeadsResponse(leads=[lead_to_proto(lead) for lead in page.leads],
                                       next_page_token=page.next_page_token)


def event_to_proto(event: object) -> tuple[Message, str]:
    """A domain event as (proto message, subject resource name) for the outbox."""
    if isinstance(event, model.LeadCreated):
        return events_pb2.LeadCreated(lead=lead_to_proto(event.lead)), event.lead.name
    if isinstance(event, model.LeadConverted):
        return events_pb2.LeadConverted(
            lead=lead_to_proto(event.lead), converted_by=names.format("users", event.converted_by),
            opportunity_title=event.opportunity_title, convert_time=_ts(event.convert_time)), event.lead.name
    if isinstance(event, pool.LeadClaimed):
        return events_pb2.LeadClaimed(lead=lead_to_proto(event.lead), claim_time=_ts(event.claim_time)), event.lead.name
    if isinstance(event, pool.LeadReturned):
        return events_pb2.LeadReturned(
            lead=lead_to_proto(event.lead), previous_owner=_user(event.previous_owner_id), reason=event.reason,
            return_time=_ts(event.return_time)), event.lead.name
    if isinstance(event, pool.LeadAssigned):
        return events_pb2.LeadAssigned(
            lead=lead_to_proto(event.lead), previous_owner=_user(event.previous_owner_id),
            assigned_by=_user(event.assigned_by), assign_time=_ts(event.assign_time),
            rules=list(event.rules)), event.lead.name
    if isinstance(event, pool.LeadRecycleWarning):
        return events_pb2.LeadRecycleWarning(lead=lead_to_proto(event.lead), rule=event.rule,
                                             recycle_time=_ts(event.recycle_time)), event.lead.name
    if isinstance(event, pool.LeadRecycled):
        return events_pb2.LeadRecycled(
            lead=lead_to_proto(event.lead), previous_owner=_user(event.previous_owner_id), rule=event.rule,
            reclaim_barred_until=_ts(event.reclaim_barred_until), recycle_time=_ts(event.recycle_time)), event.lead.name
    if isinstance(event, pool.FollowUpAdded):
        return events_pb2.FollowUpAdded(lead=lead_to_proto(event.lead),
                                        follow_up=follow_up_to_proto(event.follow_up)), event.lead.name
    if isinstance(event, dedupe.LeadMerged):
        return events_pb2.LeadMerged(
            lead=lead_to_proto(event.lead), incoming=_incoming_to_proto(event.incoming), matched_on=event.matched_on,
            filled_fields=list(event.filled), merged_by=_user(event.merged_by),
            merge_time=_ts(event.merge_time)), event.lead.name
    if isinstance(event, dedupe.LeadFlaggedDuplicate):
        return events_pb2.LeadFlaggedDuplicate(
            lead=lead_to_proto(event.lead), duplicate_of=names.format("leads", event.duplicate_of),
            matched_on=event.matched_on), event.lead.name
    if isinstance(event, importing.LeadsImported):
        r = event.report
        return events_pb2.LeadsImported(
            content_sha256=r.content_sha256, file_name=event.file_name, imported_by=_user(event.imported_by),
            accepted=r.accepted, merged=r.merged, flagged=r.flagged, rejected=r.rejected_rows,
            already_imported=r.already_imported, import_time=_ts(event.import_time)), f"imports/{r.content_sha256}"
    raise TypeError(f"no proto for event {type(event).__name__}")


# --- teams' events: INVALID_ARGUMENT (so retried, then dead-lettered) when malformed -------------

def _optional(name: str, collection: str, field: str) -> str | None:
    return names.parse(name, collection, field) if name else None


def _update_time(message: Message, field: str):
    # The projection keeps the newest state by this time; without it an event cannot be ordered.
    if not message.HasField("update_time"):
        raise InvalidArgument.field(field, "required")
    return message.update_time.ToDatetime(tzinfo=UTC)


_USER_EVENTS = {t.DESCRIPTOR.full_name: t for t in (teams_events.UserCreated, teams_events.UserUpdated,
                                                     teams_events.UserDeactivated)}


def user_from_event(env: Envelope) -> OrgUser:
    """The user's whole state from UserCreated, UserUpdated or UserDeactivated."""
    message_type = _USER_EVENTS.get(env.type)
    if message_type is None:
        raise InvalidArgument.field("type", f"not a teams user event: {env.type}")
    user = env.payload(message_type).user
    return OrgUser(
        user_id=names.parse(user.name, "users", "user.name"),
        department_id=_optional(user.department, "departments", "user.department"),
        roles=tuple(user.roles),
        # A deactivation is inactive whatever else the payload says.
        active=user.active and message_type is not teams_events.UserDeactivated,
        update_time=_update_time(user, "user.update_time"))


def rep_from_event(env: Envelope) -> pool.RepProfile:
    """The rep's territories, expertise and capacity from UserCreated or UserUpdated."""
    message_type = _USER_EVENTS.get(env.type)
    if message_type is None:
        raise InvalidArgument.field("type", f"not a teams user event: {env.type}")
    user = env.payload(message_type).user
    return pool.RepProfile(
        user_id=names.parse(user.name, "users", "user.name"),
        territories=tuple(t.strip() for t in user.territories if t.strip()),
        expertise=tuple(e.strip() for e in user.expertise if e.strip()), capacity=max(user.capacity, 0),
        update_time=_update_time(user, "user.update_time"))


def department_from_event(env: Envelope) -> OrgDepartment:
    department = env.payload(teams_events.DepartmentChanged).department
    department_id = names.parse(department.name, "departments", "department.name")
    path = department.path
    if not (path.startswith("/") and path.endswith(f"/{department_id}/")):
        raise InvalidArgument.field("department.path", f"must look like /<root id>/.../{department_id}/, got {path!r}")
    return OrgDepartment(
        id=department_id, parent_id=_optional(department.parent, "departments", "department.parent"), path=path,
        head_id=_optional(department.head, "users", "department.head"),
        update_time=_update_time(department, "department.update_time"))


def hand_over_from_event(env: Envelope) -> model.HandOver:
    transfer = env.payload(teams_events.OwnershipTransferred)
    if not transfer.transfer_id:
        raise InvalidArgument.field("transfer_id", "required")
    return model.HandOver(
        transfer_id=transfer.transfer_id,
        from_owner_id=names.parse(transfer.from_user, "users", "from_user"),
        to_owner_id=names.parse(transfer.to_user, "users", "to_user"),
        transfer_time=transfer.transfer_time.ToDatetime(tzinfo=UTC) if transfer.HasField("transfer_time") else None)
