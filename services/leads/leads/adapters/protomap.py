"""Leads' domain objects as protos: the API's resources and the parts of its events (outbound only)."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration

from leads.domain import campaigns, customer_import, customers, importing, model, pool, scoring
from leads.domain.settings import LeadSettings
from shangji.leads.v1 import leads_pb2
from shangji_kit import names, table_import
from shangji_kit.timestamps import from_datetime

_STATES = {model.OPEN: leads_pb2.Lead.State.OPEN, model.CONVERTED: leads_pb2.Lead.State.CONVERTED}


QUALIFICATIONS = {q: leads_pb2.Lead.Qualification.Value(q) for q in scoring.QUALIFICATIONS}


def user_name(user_id: str | None) -> str:
    return names.format("users", user_id) if user_id else ""


def score_part(part: scoring.ScorePart) -> leads_pb2.ScorePart:
    return leads_pb2.ScorePart(kind=part.kind, key=part.key, value=part.value, points=part.points)


def lead_to_proto(lead: model.Lead) -> leads_pb2.Lead:
    message = leads_pb2.Lead(
        name=lead.name, id=lead.id, company=lead.company, contact_name=lead.contact_name, phone=lead.phone,
        email=lead.email, region=lead.region, source=lead.source, owner=user_name(lead.owner_id),
        state=_STATES[lead.state], create_time=from_datetime(lead.create_time),
        update_time=from_datetime(lead.update_time),
        etag=lead.etag, industry=lead.industry,
        duplicate_of=names.format("leads", lead.duplicate_of) if lead.duplicate_of else "",
        customer=names.format("customers", lead.customer_id) if lead.customer_id else "",
        score=lead.score, qualification=QUALIFICATIONS[lead.qualification],
        score_parts=[score_part(p) for p in lead.score_parts],
        campaign=names.format("campaigns", lead.campaign_id) if lead.campaign_id else "",
        contact_title=lead.contact_title, company_size=lead.company_size, flags=list(lead.flags), notes=lead.notes)
    if lead.convert_time is not None:
        message.convert_time.CopyFrom(from_datetime(lead.convert_time))
    if lead.hold_time is not None:
        message.hold_time.CopyFrom(from_datetime(lead.hold_time))
    if lead.last_follow_up_time is not None:
        message.last_follow_up_time.CopyFrom(from_datetime(lead.last_follow_up_time))
    if lead.first_response_time is not None:
        duration = Duration()
        duration.FromTimedelta(lead.first_response_time)
        message.first_response_time.CopyFrom(duration)
    return message


def incoming_to_proto(lead: model.Lead) -> leads_pb2.Lead:
    """A lead that came in and was merged: its fields, no identity."""
    return leads_pb2.Lead(company=lead.company, contact_name=lead.contact_name, phone=lead.phone, email=lead.email,
                          region=lead.region, source=lead.source, industry=lead.industry,
                          owner=user_name(lead.owner_id))


def import_report_to_proto(report: importing.ImportReport) -> leads_pb2.ImportLeadsResponse:
    return leads_pb2.ImportLeadsResponse(
        accepted=report.accepted, merged=report.merged, flagged=report.flagged, rejected=report.rejected_rows,
        already_imported=report.already_imported, committed=report.committed,
        content_sha256=report.content_sha256, assigned=report.assigned, rejections=_rejections(report))


def customers_import_report_to_proto(report: customer_import.CustomersImportReport
                                     ) -> leads_pb2.ImportCustomersResponse:
    return leads_pb2.ImportCustomersResponse(
        customers_created=report.customers_created, customers_matched=report.customers_matched,
        contacts_created=report.contacts_created, rejected=report.rejected_rows,
        already_imported=report.already_imported, committed=report.committed,
        content_sha256=report.content_sha256, rejections=_rejections(report))


def _rejections(report: table_import.ImportReport) -> list[leads_pb2.ImportRejection]:
    return [leads_pb2.ImportRejection(row_number=r.row_number, field=r.field, reason=r.reason)
            for r in report.rejections]


def claim_response(leads: list[model.Lead]) -> leads_pb2.ClaimLeadsResponse:
    return leads_pb2.ClaimLeadsResponse(leads=[lead_to_proto(lead) for lead in leads])


def assign_response(leads: list[model.Lead]) -> leads_pb2.AssignLeadsResponse:
    return leads_pb2.AssignLeadsResponse(leads=[lead_to_proto(lead) for lead in leads])


_KINDS = {name: leads_pb2.FollowUp.Kind.Value(name) for name in pool.FOLLOW_UP_KINDS}


def follow_up_to_proto(follow_up: pool.FollowUp) -> leads_pb2.FollowUp:
    return leads_pb2.FollowUp(name=follow_up.name, kind=_KINDS[follow_up.kind], note=follow_up.note,
                              author=user_name(follow_up.author_id), create_time=from_datetime(follow_up.create_time))


def assignment_to_proto(a: model.Assignment) -> leads_pb2.LeadAssignment:
    return leads_pb2.LeadAssignment(previous_owner=user_name(a.previous_owner_id), new_owner=user_name(a.new_owner_id),
                                    actor=user_name(a.actor_id), kind=a.kind, reason=a.reason,
                                    change_time=from_datetime(a.change_time), rules=list(a.rules))


def chain_contact(contact: customers.Contact) -> leads_pb2.DecisionChainContact:
    return leads_pb2.DecisionChainContact(
        contact=contact.name, name=contact.display_name, title=contact.title, phone=contact.phone, email=contact.email,
        buying_role=contact.buying_role, attitude=contact.attitude, satisfaction=contact.satisfaction)


def customer_to_proto(customer: customers.Customer, chain: tuple = ()) -> leads_pb2.Customer:
    return leads_pb2.Customer(
        name=customer.name, id=customer.id, display_name=customer.display_name, region=customer.region,
        industry=customer.industry, size=customer.size, grade=customer.grade, owner=user_name(customer.owner_id),
        create_time=from_datetime(customer.create_time), update_time=from_datetime(customer.update_time),
        etag=customer.etag,
        decision_chain=[chain_contact(c) for c in chain], decision_chain_revision=customer.chain_revision)


def contact_to_proto(contact: customers.Contact) -> leads_pb2.Contact:
    return leads_pb2.Contact(
        name=contact.name, id=contact.id, customer=names.format("customers", contact.customer_id),
        display_name=contact.display_name, title=contact.title, phone=contact.phone, email=contact.email,
        buying_role=contact.buying_role, attitude=contact.attitude, satisfaction=contact.satisfaction,
        lead=names.format("leads", contact.lead_id) if contact.lead_id else "",
        create_time=from_datetime(contact.create_time),
        update_time=from_datetime(contact.update_time), etag=contact.etag)


def lead_score_to_proto(score: scoring.LeadScore) -> leads_pb2.LeadScore:
    lead = score.lead
    return leads_pb2.LeadScore(lead=lead.name, score=lead.score, qualification=QUALIFICATIONS[lead.qualification],
                               parts=[score_part(p) for p in lead.score_parts], missing_for_next=score.missing_for_next)


def settings_to_proto(settings: LeadSettings) -> leads_pb2.LeadSettings:
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


def campaign_to_proto(campaign: campaigns.Campaign) -> leads_pb2.Campaign:
    return leads_pb2.Campaign(
        name=campaign.name, id=campaign.id, display_name=campaign.display_name, channel=campaign.channel,
        cost=str(campaign.cost), currency=campaign.currency,
        start_date=campaign.start_date.isoformat() if campaign.start_date else "",
        end_date=campaign.end_date.isoformat() if campaign.end_date else "",
        create_time=from_datetime(campaign.create_time), update_time=from_datetime(campaign.update_time),
        etag=campaign.etag)


def report_to_proto(by_source: list, by_campaign: list) -> leads_pb2.SourceReport:
    def row(r: campaigns.ReportRow) -> leads_pb2.SourceReportRow:
        return leads_pb2.SourceReportRow(
            key=r.key, display_name=r.display_name, leads=r.leads, mql=r.mql, sql=r.sql, conversions=r.conversions,
            won_amount=r.won_amount, currency=r.currency, cost=r.cost, cost_per_lead=r.cost_per_lead,
            return_on_spend=r.return_on_spend)
    return leads_pb2.SourceReport(by_source=[row(r) for r in by_source], by_campaign=[row(r) for r in by_campaign])
