"""The one module that converts between opportunities' protos (and the events it consumes) and its domain."""

from __future__ import annotations

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from opportunities.domain import model
from opportunities.service_layer import services
from shangji.leads.v1.events_pb2 import LeadConverted
from shangji.opportunities.v1 import events_pb2, opportunities_pb2
from shangji_kit import names
from shangji_kit.envelope import Envelope


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
