"""Events other services publish, read into the service layer's commands and records: leads' conversions and
customers, samples' requests, teams' organisation, teams and handovers. A malformed event is INVALID_ARGUMENT
(dead-lettered after its retries)."""

from __future__ import annotations

from datetime import UTC, datetime

from opportunities.domain import decision_chain, model
from opportunities.service_layer import projection, records
from opportunities.service_layer import registration as registering
from shangji.erp_bridge.v1 import events_pb2 as erp_events
from shangji.leads.v1 import leads_pb2
from shangji.leads.v1.events_pb2 import (
    CustomerCreated,
    CustomerDecisionChainChanged,
    CustomerUpdated,
    LeadConverted,
)
from shangji.samples.v1 import events_pb2 as samples_events
from shangji.teams.v1 import events_pb2 as teams_events
from shangji_kit import names, org_events, timestamps
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument


def registration_from_event(env: Envelope) -> registering.RegisterFromConversion:
    """The registration a LeadConverted event asks for; INVALID_ARGUMENT (dead-lettered) when malformed."""
    event = env.payload(LeadConverted)
    lead = event.lead
    owner_id = names.parse(lead.owner, "users", "lead.owner")
    # An event without converted_by predates the field; the owner is then the best registrant we know.
    registrant_id = names.parse(event.converted_by, "users", "converted_by") if event.converted_by else owner_id
    return registering.RegisterFromConversion(
        lead_id=names.parse(names.format("leads", lead.id), "leads", "lead.id"), owner_id=owner_id,
        registrant_id=registrant_id, title=event.opportunity_title.strip() or lead.company,
        customer_company=lead.company, contact_name=lead.contact_name, contact_phone=lead.phone,
        contact_email=lead.email, region=lead.region, source=lead.source,
        customer_id=names.parse(event.customer, "customers", "customer") if event.customer else None,
        decision_chain=tuple(_chain_contact(c, f"decision_chain[{i}]") for i, c in enumerate(event.decision_chain)),
        without_opportunity=event.without_opportunity, product_lines=tuple(event.product_lines))


def _chain_contact(c: leads_pb2.DecisionChainContact, field: str) -> decision_chain.DealContact:
    """A contact of leads' account-level chain, not yet the deal's (ids and times come with the copy)."""
    return decision_chain.DealContact(
        id="", opportunity_id="", display_name=c.name,
        contact_id=names.parse(c.contact, "contacts", f"{field}.contact") if c.contact else None, title=c.title,
        phone=c.phone, email=c.email, buying_role=c.buying_role, attitude=c.attitude, satisfaction=c.satisfaction)


def customer_chain_from_event(env: Envelope) -> projection.CustomerChain:
    event = env.payload(CustomerDecisionChainChanged)
    return projection.CustomerChain(
        customer_id=names.parse(event.customer, "customers", "customer"), revision=event.revision,
        contacts=tuple(_chain_contact(c, f"contacts[{i}]") for i, c in enumerate(event.contacts)),
        change_time=event.change_time.ToDatetime(tzinfo=UTC) if event.HasField("change_time") else None)

_CUSTOMER_EVENTS = {"shangji.leads.v1.CustomerCreated": CustomerCreated,
                    "shangji.leads.v1.CustomerUpdated": CustomerUpdated}


def customer_owner_from_event(env: Envelope) -> projection.CustomerOwner:
    """Who owns a customer, from leads' CustomerCreated / CustomerUpdated (the whole customer)."""
    customer = env.payload(_CUSTOMER_EVENTS[env.type]).customer
    return projection.CustomerOwner(
        customer_id=names.parse(customer.name, "customers", "customer.name"),
        owner_id=names.parse(customer.owner, "users", "customer.owner"),
        update_time=(customer.update_time.ToDatetime(tzinfo=UTC) if customer.HasField("update_time")
                     else _envelope_time(env)))

_SAMPLE_EVENTS = {"shangji.samples.v1.SampleRequestApproved": (samples_events.SampleRequestApproved, "approved"),
                  "shangji.samples.v1.SampleDelivered": (samples_events.SampleDelivered, "delivered")}


def sample_from_event(env: Envelope) -> records.SampleSeen:
    """An approved or delivered sample request and its deal ("opportunities/{id}")."""
    message_type, kind = _SAMPLE_EVENTS[env.type]
    request = env.payload(message_type).request
    request_id = request.id or request.name.rpartition("/")[2]
    if not request_id:
        raise InvalidArgument.field("request.name", "required")
    return records.SampleSeen(request_id=request_id, kind=kind,
                              opportunity_id=names.parse(request.opportunity, "opportunities", "request.opportunity"),
                              time=_envelope_time(env))

OPPORTUNITY_ORDER_KIND = "opportunity"


def erp_order_from_event(env: Envelope) -> records.ErpOrder | None:
    """A won deal's sales order the ERP confirmed; None for an order of another kind (a sample request's)."""
    event = env.payload(erp_events.ErpOrderConfirmed)
    if event.source_kind != OPPORTUNITY_ORDER_KIND:
        return None
    number = event.erp_order_number.strip()
    if not number:
        raise InvalidArgument.field("erp_order_number", "required")
    return records.ErpOrder(opportunity_id=names.parse(event.source, "opportunities", "source"), order_number=number,
                            confirm_time=timestamps.optional(event, "confirm_time") or _envelope_time(env))


# teams' organisation events: the kit reads them the same way for every service.
user_from_event = org_events.user_from_event

department_from_event = org_events.department_from_event

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


def team_member_removal_from_event(env: Envelope) -> projection.RemoveTeamMember:
    event = env.payload(teams_events.OpportunityTeamMemberRemoved)
    return projection.RemoveTeamMember(opportunity_id=names.parse(event.opportunity, "opportunities", "opportunity"),
                                     user_id=names.parse(event.user, "users", "user"))


def transfer_from_event(env: Envelope) -> projection.TransferOwnership:
    event = env.payload(teams_events.OwnershipTransferred)
    if not event.transfer_id:
        raise InvalidArgument.field("transfer_id", "required")
    return projection.TransferOwnership(
        transfer_id=event.transfer_id, from_user_id=names.parse(event.from_user, "users", "from_user"),
        to_user_id=names.parse(event.to_user, "users", "to_user"),
        transfer_time=event.transfer_time.ToDatetime(tzinfo=UTC) if event.HasField("transfer_time") else None)


def _envelope_time(env: Envelope) -> datetime:
    try:
        time = datetime.fromisoformat(env.time.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return time if time.tzinfo else time.replace(tzinfo=UTC)
