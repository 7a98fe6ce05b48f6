"""Domain events as the protos the outbox writes: the one outbound event adapter, given to the unit of
work at bootstrap (``encode`` for one event, ``outbox_rows`` for an import's many)."""

from __future__ import annotations

import functools
import json
from datetime import UTC

from google.protobuf import json_format
from google.protobuf.message import Message

from leads.adapters.protomap import (
    QUALIFICATIONS,
    chain_contact,
    customer_to_proto,
    follow_up_to_proto,
    incoming_to_proto,
    lead_to_proto,
    user_name,
)
from leads.domain import customers, dedupe, importing, model, pool, scoring
from shangji.leads.v1 import events_pb2
from shangji_kit import names
from shangji_kit.timestamps import from_datetime


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
    if lead.convert_time or lead.last_follow_up_time or lead.first_response_time is not None or lead.customer_id:
        return json_format.MessageToDict(lead_to_proto(lead))
    out = {"name": lead.name, "id": lead.id}
    for key, value in (("company", lead.company), ("contactName", lead.contact_name), ("phone", lead.phone),
                       ("email", lead.email), ("region", lead.region), ("source", lead.source),
                       ("owner", user_name(lead.owner_id))):
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
    if lead.score:
        out["score"] = lead.score
    out["qualification"] = lead.qualification
    if lead.score_parts:
        out["scoreParts"] = [_part_json(p) for p in lead.score_parts]
    if lead.campaign_id:
        out["campaign"] = names.format("campaigns", lead.campaign_id)
    if lead.contact_title:
        out["contactTitle"] = lead.contact_title
    if lead.company_size:
        out["companySize"] = lead.company_size
    if lead.flags:
        out["flags"] = list(lead.flags)
    if lead.notes:
        out["notes"] = lead.notes
    return out


def _part_json(part: scoring.ScorePart) -> dict:
    out = {k: v for k, v in (("kind", part.kind), ("key", part.key), ("value", part.value)) if v}
    if part.points:
        out["points"] = part.points
    return out


_CREATED = events_pb2.LeadCreated.DESCRIPTOR.full_name


_ASSIGNED = events_pb2.LeadAssigned.DESCRIPTOR.full_name


_QUALIFIED = events_pb2.LeadQualificationChanged.DESCRIPTOR.full_name


def assigned_json(event: pool.LeadAssigned) -> dict:
    """``MessageToDict`` of a LeadAssigned without its lead, built directly (an import may assign every row)."""
    out = {}
    if event.previous_owner_id:
        out["previousOwner"] = user_name(event.previous_owner_id)
    if event.assigned_by:
        out["assignedBy"] = user_name(event.assigned_by)
    out["assignTime"] = _ts_json(event.assign_time)
    if event.rules:
        out["rules"] = list(event.rules)
    if event.reason:
        out["reason"] = event.reason
    return out


def qualification_json(event: scoring.LeadQualificationChanged) -> dict:
    """``MessageToDict`` of a LeadQualificationChanged without its lead."""
    out = {"fromQualification": event.from_qualification, "toQualification": event.to_qualification}
    if event.score:
        out["score"] = event.score
    out["changeTime"] = _ts_json(event.change_time)
    return out


# One encoder for every row of a bulk write (json.dumps with options builds a new one per call).
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def created_json(event: model.LeadCreated) -> dict:
    """LeadCreated's own fields in proto3 JSON (defaults left out, as MessageToDict does)."""
    rest: dict = {}
    if event.created_by:
        rest["createdBy"] = names.format("users", event.created_by)
    if event.imported:
        rest["imported"] = True
    return rest


def outbox_rows(events: list) -> list[tuple[str, str, str]]:
    """Events as (type, subject, proto3 JSON payload text) for a bulk write of the outbox. LeadCreated,
    LeadAssigned and LeadQualificationChanged are built directly, the lead's JSON encoded once and spliced
    into each of its events (an import's events carry the lead as written); the rest through
    ``event_to_proto``."""
    rows = []
    leads: dict[str, str] = {}

    def with_lead(lead: model.Lead, rest: dict) -> str:
        text = leads.get(lead.id)
        if text is None:
            text = leads[lead.id] = _encode(lead_json(lead))
        return '{"lead":' + text + ("," + _encode(rest)[1:] if rest else "}")

    for event in events:
        if isinstance(event, model.LeadCreated):
            rows.append((_CREATED, event.lead.name, with_lead(event.lead, created_json(event))))
        elif isinstance(event, pool.LeadAssigned):
            rows.append((_ASSIGNED, event.lead.name, with_lead(event.lead, assigned_json(event))))
        elif isinstance(event, scoring.LeadQualificationChanged):
            rows.append((_QUALIFIED, event.lead.name, with_lead(event.lead, qualification_json(event))))
        else:
            message, subject = encode(event)
            rows.append((message.DESCRIPTOR.full_name, subject, _encode(json_format.MessageToDict(message))))
    return rows


def encode(event: object) -> tuple[Message, str]:
    """A domain event as (proto message, subject resource name) for the outbox."""
    if isinstance(event, model.LeadCreated):
        return (events_pb2.LeadCreated(lead=lead_to_proto(event.lead), imported=event.imported,
                                       created_by=names.format("users", event.created_by) if event.created_by else ""),
                event.lead.name)
    if isinstance(event, model.LeadConverted):
        return events_pb2.LeadConverted(
            lead=lead_to_proto(event.lead), converted_by=names.format("users", event.converted_by),
            opportunity_title=event.opportunity_title, convert_time=from_datetime(event.convert_time),
            customer=names.format("customers", event.customer_id) if event.customer_id else "",
            decision_chain=[chain_contact(c) for c in event.decision_chain],
            without_opportunity=event.without_opportunity, product_lines=list(event.product_lines)), event.lead.name
    if isinstance(event, scoring.LeadQualificationChanged):
        return events_pb2.LeadQualificationChanged(
            lead=lead_to_proto(event.lead), from_qualification=QUALIFICATIONS[event.from_qualification],
            to_qualification=QUALIFICATIONS[event.to_qualification], score=event.score,
            change_time=from_datetime(event.change_time)), event.lead.name
    if isinstance(event, customers.CustomerCreated):
        return events_pb2.CustomerCreated(
            customer=customer_to_proto(event.customer, event.chain),
            lead=names.format("leads", event.lead_id) if event.lead_id else ""), event.customer.name
    if isinstance(event, customers.CustomerUpdated):
        return events_pb2.CustomerUpdated(
            customer=customer_to_proto(event.customer, event.chain), changed_fields=list(event.changed_fields),
            updated_by=user_name(event.updated_by)), event.customer.name
    if isinstance(event, customers.CustomerDecisionChainChanged):
        return events_pb2.CustomerDecisionChainChanged(
            customer=event.customer.name, revision=event.revision, contacts=[chain_contact(c) for c in event.chain],
            change_time=from_datetime(event.change_time)), event.customer.name
    if isinstance(event, pool.LeadClaimed):
        return (events_pb2.LeadClaimed(lead=lead_to_proto(event.lead), claim_time=from_datetime(event.claim_time)),
                event.lead.name)
    if isinstance(event, pool.LeadReturned):
        return events_pb2.LeadReturned(
            lead=lead_to_proto(event.lead), previous_owner=user_name(event.previous_owner_id), reason=event.reason,
            return_time=from_datetime(event.return_time)), event.lead.name
    if isinstance(event, pool.LeadAssigned):
        return events_pb2.LeadAssigned(
            lead=lead_to_proto(event.lead), previous_owner=user_name(event.previous_owner_id),
            assigned_by=user_name(event.assigned_by), assign_time=from_datetime(event.assign_time),
            rules=list(event.rules), reason=event.reason), event.lead.name
    if isinstance(event, pool.LeadRecycleWarning):
        return events_pb2.LeadRecycleWarning(lead=lead_to_proto(event.lead), rule=event.rule,
                                             recycle_time=from_datetime(event.recycle_time)), event.lead.name
    if isinstance(event, pool.LeadRecycled):
        return events_pb2.LeadRecycled(
            lead=lead_to_proto(event.lead), previous_owner=user_name(event.previous_owner_id), rule=event.rule,
            reclaim_barred_until=from_datetime(event.reclaim_barred_until),
            recycle_time=from_datetime(event.recycle_time)), event.lead.name
    if isinstance(event, pool.FollowUpAdded):
        return events_pb2.FollowUpAdded(lead=lead_to_proto(event.lead),
                                        follow_up=follow_up_to_proto(event.follow_up)), event.lead.name
    if isinstance(event, dedupe.LeadMerged):
        return events_pb2.LeadMerged(
            lead=lead_to_proto(event.lead), incoming=incoming_to_proto(event.incoming), matched_on=event.matched_on,
            filled_fields=list(event.filled), merged_by=user_name(event.merged_by),
            merge_time=from_datetime(event.merge_time)), event.lead.name
    if isinstance(event, dedupe.LeadFlaggedDuplicate):
        return events_pb2.LeadFlaggedDuplicate(
            lead=lead_to_proto(event.lead), duplicate_of=names.format("leads", event.duplicate_of),
            matched_on=event.matched_on), event.lead.name
    if isinstance(event, importing.LeadsImported):
        r = event.report
        return events_pb2.LeadsImported(
            content_sha256=r.content_sha256, file_name=event.file_name, imported_by=user_name(event.imported_by),
            accepted=r.accepted, merged=r.merged, flagged=r.flagged, rejected=r.rejected_rows,
            already_imported=r.already_imported, import_time=from_datetime(event.import_time),
            assigned=r.assigned), f"imports/{r.content_sha256}"
    raise TypeError(f"no proto for event {type(event).__name__}")
