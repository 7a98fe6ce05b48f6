"""The one module that converts between leads' protos and its domain objects."""

from __future__ import annotations

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from leads.domain import model
from shangji.leads.v1 import events_pb2, leads_pb2
from shangji_kit import names

_STATES = {model.OPEN: leads_pb2.Lead.State.OPEN, model.CONVERTED: leads_pb2.Lead.State.CONVERTED}


def _ts(value) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def lead_to_proto(lead: model.Lead) -> leads_pb2.Lead:
    message = leads_pb2.Lead(
        name=lead.name, id=lead.id, company=lead.company, contact_name=lead.contact_name, phone=lead.phone,
        email=lead.email, region=lead.region, source=lead.source, owner=names.format("users", lead.owner_id),
        state=_STATES[lead.state], create_time=_ts(lead.create_time), update_time=_ts(lead.update_time),
        etag=lead.etag)
    if lead.convert_time is not None:
        message.convert_time.CopyFrom(_ts(lead.convert_time))
    return message


def event_to_proto(event: object) -> tuple[Message, str]:
    """A domain event as (proto message, subject resource name) for the outbox."""
    if isinstance(event, model.LeadCreated):
        return events_pb2.LeadCreated(lead=lead_to_proto(event.lead)), event.lead.name
    if isinstance(event, model.LeadConverted):
        return events_pb2.LeadConverted(
            lead=lead_to_proto(event.lead), converted_by=names.format("users", event.converted_by),
            opportunity_title=event.opportunity_title, convert_time=_ts(event.convert_time)), event.lead.name
    raise TypeError(f"no proto for event {type(event).__name__}")
