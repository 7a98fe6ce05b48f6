"""The one module that converts between leads' protos (and the events it consumes) and its domain objects."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from leads.domain import campaigns, customers, dedupe, importing, model, pool, scoring
from shangji.leads.v1 import events_pb2, leads_pb2
from shangji.opportunities.v1 import events_pb2 as opp_events
from shangji.teams.v1 import events_pb2 as teams_events
from shangji_kit import names, org_events
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument

if TYPE_CHECKING:  # the service layer imports this module through its unit of work
    from leads.service_layer.accounts import CustomerView, Page
    from leads.service_layer.qualification import LeadScore, Settings
    from leads.service_layer.services import Captured, LeadPage

_STATES = {model.OPEN: leads_pb2.Lead.State.OPEN, model.CONVERTED: leads_pb2.Lead.State.CONVERTED}
_QUALIFICATIONS = {q: leads_pb2.Lead.Qualification.Value(q) for q in scoring.QUALIFICATIONS}


def _ts(value) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def _user(user_id: str | None) -> str:
    return names.format("users", user_id) if user_id else ""


def _part(part: scoring.ScorePart) -> leads_pb2.ScorePart:
    return leads_pb2.ScorePart(kind=part.kind, key=part.key, value=part.value, points=part.points)


def lead_to_proto(lead: model.Lead) -> leads_pb2.Lead:
    message = leads_pb2.Lead(
        name=lead.name, id=lead.id, company=lead.company, contact_name=lead.contact_name, phone=lead.phone,
        email=lead.email, region=lead.region, source=lead.source, owner=_user(lead.owner_id),
        state=_STATES[lead.state], create_time=_ts(lead.create_time), update_time=_ts(lead.update_time),
        etag=lead.etag, industry=lead.industry,
        duplicate_of=names.format("leads", lead.duplicate_of) if lead.duplicate_of else "",
        customer=names.format("customers", lead.customer_id) if lead.customer_id else "",
        score=lead.score, qualification=_QUALIFICATIONS[lead.qualification],
        score_parts=[_part(p) for p in lead.score_parts],
        campaign=names.format("campaigns", lead.campaign_id) if lead.campaign_id else "",
        contact_title=lead.contact_title, company_size=lead.company_size, flags=list(lead.flags), notes=lead.notes)
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
            "all_or_nothing": header.all_or_nothing, "file_name": header.file_name,
            "auto_assign": header.auto_assign, "campaign": header.campaign}


def import_rows(message: leads_pb2.ImportRows) -> list[tuple[int, list[str]]]:
    return [(row.row_number, list(row.values)) for row in message.rows]


def import_report_to_proto(report: importing.ImportReport) -> leads_pb2.ImportLeadsResponse:
    return leads_pb2.ImportLeadsResponse(
        accepted=report.accepted, merged=report.merged, flagged=report.flagged, rejected=report.rejected_rows,
        already_imported=report.already_imported, committed=report.committed,
        content_sha256=report.content_sha256, assigned=report.assigned,
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
    if lead.convert_time or lead.last_follow_up_time or lead.first_response_time is not None or lead.customer_id:
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
        out["previousOwner"] = _user(event.previous_owner_id)
    if event.assigned_by:
        out["assignedBy"] = _user(event.assigned_by)
    out["assignTime"] = _ts_json(event.assign_time)
    if event.rules:
        out["rules"] = list(event.rules)
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
            rows.append((_CREATED, event.lead.name, with_lead(event.lead, {})))
        elif isinstance(event, pool.LeadAssigned):
            rows.append((_ASSIGNED, event.lead.name, with_lead(event.lead, assigned_json(event))))
        elif isinstance(event, scoring.LeadQualificationChanged):
            rows.append((_QUALIFIED, event.lead.name, with_lead(event.lead, qualification_json(event))))
        else:
            message, subject = event_to_proto(event)
            rows.append((message.DESCRIPTOR.full_name, subject, _encode(json_format.MessageToDict(message))))
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
            opportunity_title=event.opportunity_title, convert_time=_ts(event.convert_time),
            customer=names.format("customers", event.customer_id) if event.customer_id else "",
            decision_chain=[chain_contact(c) for c in event.decision_chain],
            without_opportunity=event.without_opportunity), event.lead.name
    if isinstance(event, scoring.LeadQualificationChanged):
        return events_pb2.LeadQualificationChanged(
            lead=lead_to_proto(event.lead), from_qualification=_QUALIFICATIONS[event.from_qualification],
            to_qualification=_QUALIFICATIONS[event.to_qualification], score=event.score,
            change_time=_ts(event.change_time)), event.lead.name
    if isinstance(event, customers.CustomerCreated):
        return events_pb2.CustomerCreated(
            customer=customer_to_proto(event.customer, event.chain),
            lead=names.format("leads", event.lead_id) if event.lead_id else ""), event.customer.name
    if isinstance(event, customers.CustomerUpdated):
        return events_pb2.CustomerUpdated(
            customer=customer_to_proto(event.customer, event.chain), changed_fields=list(event.changed_fields),
            updated_by=_user(event.updated_by)), event.customer.name
    if isinstance(event, customers.CustomerDecisionChainChanged):
        return events_pb2.CustomerDecisionChainChanged(
            customer=event.customer.name, revision=event.revision, contacts=[chain_contact(c) for c in event.chain],
            change_time=_ts(event.change_time)), event.customer.name
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
            already_imported=r.already_imported, import_time=_ts(event.import_time),
            assigned=r.assigned), f"imports/{r.content_sha256}"
    raise TypeError(f"no proto for event {type(event).__name__}")


# --- customers, contacts, scoring, settings, campaigns ----------------------------------------------

def chain_contact(contact: customers.Contact) -> leads_pb2.DecisionChainContact:
    return leads_pb2.DecisionChainContact(
        contact=contact.name, name=contact.display_name, title=contact.title, phone=contact.phone, email=contact.email,
        buying_role=contact.buying_role, attitude=contact.attitude, satisfaction=contact.satisfaction)


def customer_to_proto(customer: customers.Customer, chain: tuple = ()) -> leads_pb2.Customer:
    return leads_pb2.Customer(
        name=customer.name, id=customer.id, display_name=customer.display_name, region=customer.region,
        industry=customer.industry, size=customer.size, grade=customer.grade, owner=_user(customer.owner_id),
        create_time=_ts(customer.create_time), update_time=_ts(customer.update_time), etag=customer.etag,
        decision_chain=[chain_contact(c) for c in chain], decision_chain_revision=customer.chain_revision)


def customer_view_to_proto(view: CustomerView) -> leads_pb2.Customer:
    return customer_to_proto(view.customer, view.chain)


def customers_page(page: Page) -> leads_pb2.ListCustomersResponse:
    return leads_pb2.ListCustomersResponse(customers=[customer_view_to_proto(v) for v in page.items],
                                           next_page_token=page.next_page_token)


def customer_values(customer: leads_pb2.Customer) -> dict[str, str]:
    return {f: getattr(customer, f) for f in customers.CUSTOMER_FIELDS}


def contact_values(contact: leads_pb2.Contact) -> dict:
    return {f: getattr(contact, f) for f in customers.CONTACT_FIELDS}


def contact_to_proto(contact: customers.Contact) -> leads_pb2.Contact:
    return leads_pb2.Contact(
        name=contact.name, id=contact.id, customer=names.format("customers", contact.customer_id),
        display_name=contact.display_name, title=contact.title, phone=contact.phone, email=contact.email,
        buying_role=contact.buying_role, attitude=contact.attitude, satisfaction=contact.satisfaction,
        lead=names.format("leads", contact.lead_id) if contact.lead_id else "", create_time=_ts(contact.create_time),
        update_time=_ts(contact.update_time), etag=contact.etag)


def contacts_page(page: Page) -> leads_pb2.ListContactsResponse:
    return leads_pb2.ListContactsResponse(contacts=[contact_to_proto(c) for c in page.items],
                                          next_page_token=page.next_page_token)


def lead_values(lead: leads_pb2.Lead) -> dict:
    return {"contact_title": lead.contact_title, "company_size": lead.company_size, "industry": lead.industry,
            "source": lead.source, "campaign": lead.campaign, "flags": tuple(lead.flags)}


def lead_score_to_proto(score: LeadScore) -> leads_pb2.LeadScore:
    lead = score.lead
    return leads_pb2.LeadScore(lead=lead.name, score=lead.score, qualification=_QUALIFICATIONS[lead.qualification],
                               parts=[_part(p) for p in lead.score_parts], missing_for_next=score.missing_for_next)


def settings_to_proto(settings: Settings) -> leads_pb2.LeadSettings:
    p, s = settings.pool, settings.scoring
    return leads_pb2.LeadSettings(
        claim_cap=p.claim_cap, return_reasons=list(p.return_reasons),
        recycle_after_days_without_follow_up=p.recycle_after_days_without_follow_up,
        recycle_after_days_unconverted=p.recycle_after_days_unconverted, reclaim_bar_days=p.reclaim_bar_days,
        dedupe_mode=p.dedupe_mode,
        scoring_rules=[leads_pb2.ScoringRule(field=r.field, values=list(r.values), points=r.points) for r in s.rules],
        behaviour_points=dict(s.behaviour_points), mql_threshold=s.mql_threshold, sql_threshold=s.sql_threshold,
        sql_requires=list(s.sql_requires), convert_requires=s.convert_requires,
        customer_grades=[leads_pb2.CustomerGrade(grade=g, meaning=m) for g, m in s.customer_grades],
        etag=settings.etag)


def settings_from_proto(message: leads_pb2.LeadSettings) -> tuple[pool.PoolSettings, scoring.ScoringSettings]:
    """Every field as given (the service takes only those in the update mask); text trimmed, grades upper-cased."""
    pool_settings = pool.PoolSettings(
        claim_cap=message.claim_cap, return_reasons=tuple(r.strip() for r in message.return_reasons),
        recycle_after_days_without_follow_up=message.recycle_after_days_without_follow_up,
        recycle_after_days_unconverted=message.recycle_after_days_unconverted,
        reclaim_bar_days=message.reclaim_bar_days, dedupe_mode=message.dedupe_mode.strip())
    scoring_settings = scoring.ScoringSettings(
        rules=tuple(scoring.ScoringRule(r.field.strip(), tuple(v.strip() for v in r.values if v.strip()), r.points)
                    for r in message.scoring_rules),
        behaviour_points=dict(message.behaviour_points), mql_threshold=message.mql_threshold,
        sql_threshold=message.sql_threshold, sql_requires=tuple(r.strip() for r in message.sql_requires),
        convert_requires=message.convert_requires.strip().upper(),
        customer_grades=tuple((g.grade.strip().upper(), g.meaning.strip()) for g in message.customer_grades))
    return pool_settings, scoring_settings


def campaign_values(campaign: leads_pb2.Campaign) -> dict[str, str]:
    return {f: getattr(campaign, f) for f in campaigns.CAMPAIGN_FIELDS}


def campaign_to_proto(campaign: campaigns.Campaign) -> leads_pb2.Campaign:
    return leads_pb2.Campaign(
        name=campaign.name, id=campaign.id, display_name=campaign.display_name, channel=campaign.channel,
        cost=str(campaign.cost), currency=campaign.currency,
        start_date=campaign.start_date.isoformat() if campaign.start_date else "",
        end_date=campaign.end_date.isoformat() if campaign.end_date else "",
        create_time=_ts(campaign.create_time), update_time=_ts(campaign.update_time), etag=campaign.etag)


def report_to_proto(by_source: list, by_campaign: list) -> leads_pb2.SourceReport:
    def row(r: campaigns.ReportRow) -> leads_pb2.SourceReportRow:
        return leads_pb2.SourceReportRow(
            key=r.key, display_name=r.display_name, leads=r.leads, mql=r.mql, sql=r.sql, conversions=r.conversions,
            won_amount=r.won_amount, currency=r.currency, cost=r.cost, cost_per_lead=r.cost_per_lead,
            return_on_spend=r.return_on_spend)
    return leads_pb2.SourceReport(by_source=[row(r) for r in by_source], by_campaign=[row(r) for r in by_campaign])


_OUTCOME_EVENTS = {opp_events.OpportunityWon.DESCRIPTOR.full_name: (opp_events.OpportunityWon, True),
                   opp_events.OpportunityReopened.DESCRIPTOR.full_name: (opp_events.OpportunityReopened, False)}


def outcome_from_event(env: Envelope):
    """A won or reopened deal from opportunities' OpportunityWon / OpportunityReopened."""
    message_type, won = _OUTCOME_EVENTS.get(env.type, (None, False))
    if message_type is None:
        raise InvalidArgument.field("type", f"not an opportunity outcome event: {env.type}")
    message = env.payload(message_type)
    opp = message.opportunity
    if not opp.name:
        raise InvalidArgument.field("opportunity.name", "required")
    lead_id = names.parse(opp.lead, "leads", "opportunity.lead") if opp.lead else None
    change_time = (message.change_time.ToDatetime(tzinfo=UTC) if message.HasField("change_time")
                   else datetime.fromisoformat(env.time.replace("Z", "+00:00")))
    return campaigns.Outcome(opportunity=opp.name, lead_id=lead_id, won=won, amount=opp.amount or "0",
                   currency=opp.currency, change_time=change_time)


# --- teams' events: INVALID_ARGUMENT (so retried, then dead-lettered) when malformed -------------

def _update_time(message: Message, field: str):
    # The projection keeps the newest state by this time; without it an event cannot be ordered.
    if not message.HasField("update_time"):
        raise InvalidArgument.field(field, "required")
    return message.update_time.ToDatetime(tzinfo=UTC)


_USER_EVENTS = {t.DESCRIPTOR.full_name: t for t in (teams_events.UserCreated, teams_events.UserUpdated,
                                                     teams_events.UserDeactivated)}


# teams' organisation events: the kit reads them the same way for every service.
user_from_event = org_events.user_from_event


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


department_from_event = org_events.department_from_event


def hand_over_from_event(env: Envelope) -> model.HandOver:
    transfer = env.payload(teams_events.OwnershipTransferred)
    if not transfer.transfer_id:
        raise InvalidArgument.field("transfer_id", "required")
    return model.HandOver(
        transfer_id=transfer.transfer_id,
        from_owner_id=names.parse(transfer.from_user, "users", "from_user"),
        to_owner_id=names.parse(transfer.to_user, "users", "to_user"),
        transfer_time=transfer.transfer_time.ToDatetime(tzinfo=UTC) if transfer.HasField("transfer_time") else None)
