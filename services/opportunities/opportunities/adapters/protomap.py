"""The one module that converts between opportunities' protos (and the events it consumes) and its domain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from opportunities.domain import model
from opportunities.service_layer import services
from shangji.leads.v1.events_pb2 import LeadConverted
from shangji.opportunities.v1 import events_pb2, opportunities_pb2
from shangji.teams.v1 import events_pb2 as teams_events
from shangji_kit import names, visibility
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument


def _ts(value) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def opportunity_to_proto(opportunity: model.Opportunity) -> opportunities_pb2.Opportunity:
    o = opportunity
    return opportunities_pb2.Opportunity(
        name=o.name, id=o.id, title=o.title, customer_company=o.customer_company, contact_name=o.contact_name,
        contact_phone=o.contact_phone, contact_email=o.contact_email, region=o.region, source=o.source,
        owner=names.format("users", o.owner_id), registrant=names.format("users", o.registrant_id),
        pipeline=names.format("pipelines", o.pipeline_id), stage=o.stage_key, stage_display_name=o.stage_display_name,
        lead=names.format("leads", o.lead_id) if o.lead_id else "", create_time=_ts(o.create_time),
        update_time=_ts(o.update_time), etag=o.etag)


def page_to_proto(page: services.OpportunityPage) -> opportunities_pb2.ListOpportunitiesResponse:
    return opportunities_pb2.ListOpportunitiesResponse(
        opportunities=[opportunity_to_proto(o) for o in page.opportunities], next_page_token=page.next_page_token)


def event_to_proto(event: object) -> tuple[Message, str]:
    """A domain event as (proto message, subject resource name) for the outbox."""
    if isinstance(event, model.OpportunityRegistered):
        opportunity = event.opportunity
        return events_pb2.OpportunityRegistered(opportunity=opportunity_to_proto(opportunity)), opportunity.name
    raise TypeError(f"no proto for event {type(event).__name__}")


def registration_from_event(env: Envelope) -> services.RegisterFromConversion:
    """The registration a LeadConverted event asks for; INVALID_ARGUMENT (dead-lettered) when malformed."""
    event = env.payload(LeadConverted)
    lead = event.lead
    owner_id = names.parse(lead.owner, "users", "lead.owner")
    # An event without converted_by predates the field; the owner is then the best registrant we know.
    registrant_id = names.parse(event.converted_by, "users", "converted_by") if event.converted_by else owner_id
    return services.RegisterFromConversion(
        lead_id=names.parse(names.format("leads", lead.id), "leads", "lead.id"), owner_id=owner_id,
        registrant_id=registrant_id, title=event.opportunity_title.strip() or lead.company,
        customer_company=lead.company, contact_name=lead.contact_name, contact_phone=lead.phone,
        contact_email=lead.email, region=lead.region, source=lead.source)


def update_from_request(request: opportunities_pb2.UpdateOpportunityRequest) -> services.UpdateOpportunity:
    """The change an UpdateOpportunity call asks for; the mask is checked by the use case."""
    return services.UpdateOpportunity(
        opportunity_id=names.parse(request.opportunity.name, "opportunities", "opportunity.name"),
        title=request.opportunity.title, update_mask=tuple(request.update_mask.paths), etag=request.etag)


# --- teams' events -----------------------------------------------------------------------------
# Ids are projected as plain, canonical uuid text (what ``opportunities.owner_id::text`` reads), parsed
# from the resource names teams sends; a malformed event is INVALID_ARGUMENT and ends in the .dlq queue.

_USER_EVENTS = (teams_events.UserCreated, teams_events.UserUpdated, teams_events.UserDeactivated)


def _time(message: Message, name: str, field: str) -> datetime:
    if not message.HasField(name):
        raise InvalidArgument.field(field, "required")
    return getattr(message, name).ToDatetime(tzinfo=UTC)


def _optional(name: str, collection: str, field: str) -> str | None:
    return names.parse(name, collection, field) if name else None


def _own_id(id_: str, name: str, collection: str, field: str) -> str:
    """A message's own id: its ``id`` when set, else the id in its resource name."""
    if not id_:
        return names.parse(name, collection, f"{field}.name")
    try:
        return str(uuid.UUID(id_))
    except ValueError as exc:
        raise InvalidArgument.field(f"{field}.id", f"{id_!r} is not a valid id") from exc


def user_from_event(env: Envelope) -> visibility.OrgUser:
    """The user's state a UserCreated, UserUpdated or UserDeactivated event carries."""
    message_type = next((m for m in _USER_EVENTS if m.DESCRIPTOR.full_name == env.type), None)
    if message_type is None:
        raise InvalidArgument.field("type", f"not a user event: {env.type}")
    user = env.payload(message_type).user
    return visibility.OrgUser(
        user_id=_own_id(user.id, user.name, "users", "user"),
        department_id=_optional(user.department, "departments", "user.department"),
        roles=tuple(user.roles),
        # A deactivation is one whatever the flag says.
        active=user.active and message_type is not teams_events.UserDeactivated,
        update_time=_time(user, "update_time", "user.update_time"))


def department_from_event(env: Envelope) -> visibility.OrgDepartment:
    department = env.payload(teams_events.DepartmentChanged).department
    dept_id = _own_id(department.id, department.name, "departments", "department")
    path = department.path
    if not (path.startswith("/") and path.endswith(f"/{dept_id}/")):
        raise InvalidArgument.field("department.path", f"must run from the root to this department, got {path!r}")
    return visibility.OrgDepartment(
        id=dept_id, parent_id=_optional(department.parent, "departments", "department.parent"), path=path,
        head_id=_optional(department.head, "users", "department.head"),
        update_time=_time(department, "update_time", "department.update_time"))


def team_member_from_event(env: Envelope) -> model.TeamMember:
    event = env.payload(teams_events.OpportunityTeamMemberAdded)
    member = event.member
    if not member.role:
        raise InvalidArgument.field("member.role", "required")
    # add_time is output-only in teams' API; an event without it is dated by its envelope.
    add_time = member.add_time.ToDatetime(tzinfo=UTC) if member.HasField("add_time") else _envelope_time(env)
    return model.TeamMember(opportunity_id=names.parse(event.opportunity, "opportunities", "opportunity"),
                            user_id=names.parse(member.user, "users", "member.user"), role=member.role,
                            can_edit=member.can_edit, add_time=add_time)


def team_member_removal_from_event(env: Envelope) -> services.RemoveTeamMember:
    event = env.payload(teams_events.OpportunityTeamMemberRemoved)
    return services.RemoveTeamMember(opportunity_id=names.parse(event.opportunity, "opportunities", "opportunity"),
                                     user_id=names.parse(event.user, "users", "user"))


def transfer_from_event(env: Envelope) -> services.TransferOwnership:
    event = env.payload(teams_events.OwnershipTransferred)
    if not event.transfer_id:
        raise InvalidArgument.field("transfer_id", "required")
    return services.TransferOwnership(
        transfer_id=event.transfer_id, from_user_id=names.parse(event.from_user, "users", "from_user"),
        to_user_id=names.parse(event.to_user, "users", "to_user"),
        transfer_time=event.transfer_time.ToDatetime(tzinfo=UTC) if event.HasField("transfer_time") else None)


def _envelope_time(env: Envelope) -> datetime:
    try:
        time = datetime.fromisoformat(env.time.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return time if time.tzinfo else time.replace(tzinfo=UTC)
