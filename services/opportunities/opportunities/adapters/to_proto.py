"""Our domain as protos, outbound: the messages answers and events carry (deals, pipelines, tasks, a deal's
records). Used by the gRPC front's answers and by the event encoder; reads no request."""

from __future__ import annotations

from datetime import datetime

from opportunities.domain import audit, deal_import, decision_chain, gates, model, registration, work
from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit import names
from shangji_kit.timeline_token import Page
from shangji_kit.timestamps import from_datetime


def opportunity_to_proto(opportunity: model.Opportunity) -> opportunities_pb2.Opportunity:
    o = opportunity
    return opportunities_pb2.Opportunity(
        name=o.name, id=o.id, title=o.title, customer_company=o.customer_company, contact_name=o.contact_name,
        contact_phone=o.contact_phone, contact_email=o.contact_email, region=o.region, source=o.source,
        owner=names.format("users", o.owner_id) if o.owner_id else "",
        registrant=names.format("users", o.registrant_id),
        pipeline=names.format("pipelines", o.pipeline_id), stage=o.stage_key, stage_display_name=o.stage_display_name,
        lead=names.format("leads", o.lead_id) if o.lead_id else "", create_time=from_datetime(o.create_time),
        update_time=from_datetime(o.update_time), etag=o.etag,
        amount=f"{o.amount:.2f}" if o.amount is not None else "", currency=o.currency,
        expected_close_date=o.expected_close_date.isoformat() if o.expected_close_date else "",
        probability=o.effective_probability, probability_note=o.probability_note, checklist=list(o.checklist),
        pipeline_version=o.pipeline_version, stage_category=o.stage_category,
        stage_enter_time=from_datetime(o.stage_enter_time),
        win_date=o.win_date.isoformat() if o.win_date else "", lost_reason=o.lost_reason,
        lost_competitor=o.lost_competitor, product_lines=list(o.product_lines),
        registration_state=_REGISTRATION_STATES[o.registration_state],
        collides_with=names.format("opportunities", o.collides_with) if o.collides_with else "",
        customer=names.format("customers", o.customer_id) if o.customer_id else "",
        difficulty=_decimal(o.difficulty),
        quote_lines=[opportunities_pb2.QuoteLine(product=q.product, quantity=_decimal(q.quantity),
                                                 unit_price=_decimal(q.unit_price), description=q.description)
                     for q in o.quote_lines],
        erp_order_number=o.erp_order_number)


def _decimal(value) -> str:
    """A decimal without trailing zeros or exponent: 1.000 -> "1", 12.50 -> "12.5"."""
    return format(value.normalize(), "f")

_REGISTRATION_STATES = {registration.ACTIVE: opportunities_pb2.Opportunity.ACTIVE,
                        registration.PENDING_ARBITRATION: opportunities_pb2.Opportunity.PENDING_ARBITRATION,
                        registration.REJECTED: opportunities_pb2.Opportunity.REJECTED,
                        registration.UNASSIGNED: opportunities_pb2.Opportunity.UNASSIGNED}


def page_to_proto(page) -> opportunities_pb2.ListOpportunitiesResponse:
    return opportunities_pb2.ListOpportunitiesResponse(
        opportunities=[opportunity_to_proto(o) for o in page.opportunities], next_page_token=page.next_page_token)


def assigned_to_proto(assigned: list[model.Opportunity]) -> opportunities_pb2.AssignOpportunitiesResponse:
    return opportunities_pb2.AssignOpportunitiesResponse(opportunities=[opportunity_to_proto(o) for o in assigned])


def history_to_proto(history) -> opportunities_pb2.ListStageHistoryResponse:
    entries = []
    for stay in history.stays:
        stage = history.pipeline.find(stay.stage_key)
        entries.append(opportunities_pb2.StageHistoryEntry(
            stage=stay.stage_key, stage_display_name=stage.display_name if stage else "",
            enter_time=from_datetime(stay.enter_time), exit_time=from_datetime(stay.exit_time),
            actor=names.format("users", stay.actor_id) if stay.actor_id else "", reason=stay.reason,
            duration_seconds=stay.duration_seconds(history.now)))
    durations = []
    for key, seconds, stays in model.time_in_stages(history.stays, history.now):
        stage = history.pipeline.find(key)
        durations.append(opportunities_pb2.StageDuration(
            stage=key, stage_display_name=stage.display_name if stage else "", duration_seconds=seconds, stays=stays))
    return opportunities_pb2.ListStageHistoryResponse(entries=entries, stage_durations=durations)


def _criterion_to_proto(c: gates.Criterion) -> opportunities_pb2.ExitCriterion:
    return opportunities_pb2.ExitCriterion(kind=c.kind, fields=list(c.fields), items=list(c.items), document=c.document,
                                           criteria=[_criterion_to_proto(child) for child in c.criteria])


def pipeline_to_proto(p: model.Pipeline) -> opportunities_pb2.Pipeline:
    return opportunities_pb2.Pipeline(
        name=p.name, id=p.id, key=p.key, display_name=p.display_name, version=p.version, is_default=p.is_default,
        allows_skipping=p.allows_skipping, lost_reasons=list(p.lost_reasons),
        create_time=from_datetime(p.create_time),
        stages=[opportunities_pb2.PipelineStage(
            key=s.key, display_name=s.display_name, category=s.category, probability=s.probability,
            max_days=s.max_days or 0,
            checklist=[opportunities_pb2.ChecklistItem(key=i.key, role=i.role, description=i.description)
                       for i in s.checklist],
            exit_criteria=[_criterion_to_proto(c) for c in s.exit_criteria],
            tasks_on_entry=[opportunities_pb2.TaskTemplate(title=t.title, role=t.role, due_in_days=t.due_in_days)
                            for t in s.tasks_on_entry]) for s in p.stages])


def pipelines_page_to_proto(page) -> opportunities_pb2.ListPipelinesResponse:
    return opportunities_pb2.ListPipelinesResponse(pipelines=[pipeline_to_proto(p) for p in page.pipelines],
                                                   next_page_token=page.next_page_token)


def contact_to_proto(c: decision_chain.DealContact) -> opportunities_pb2.DealContact:
    return opportunities_pb2.DealContact(
        name=c.name, contact=names.format("contacts", c.contact_id) if c.contact_id else "",
        display_name=c.display_name, title=c.title, phone=c.phone, email=c.email, buying_role=c.buying_role,
        attitude=c.attitude, satisfaction=c.satisfaction, create_time=from_datetime(c.create_time),
        update_time=from_datetime(c.update_time))


def chain_to_proto(contacts: list[decision_chain.DealContact]) -> opportunities_pb2.ListDecisionChainResponse:
    return opportunities_pb2.ListDecisionChainResponse(contacts=[contact_to_proto(c) for c in contacts])


def requirement_to_proto(r: work.Requirement) -> opportunities_pb2.Requirement:
    return opportunities_pb2.Requirement(name=r.name, text=r.text, priority=r.priority, answer=r.answer,
                                         answered=r.answered, create_time=from_datetime(r.create_time),
                                         update_time=from_datetime(r.update_time))


def requirements_to_proto(items: list[work.Requirement]) -> opportunities_pb2.ListRequirementsResponse:
    return opportunities_pb2.ListRequirementsResponse(requirements=[requirement_to_proto(r) for r in items],
                                                      answered_count=sum(r.answered for r in items))


def document_to_proto(d: work.DocumentVersion) -> opportunities_pb2.DocumentVersion:
    return opportunities_pb2.DocumentVersion(document=d.document, version=d.version, uri=d.uri, note=d.note,
                                             author=names.format("users", d.author_id),
                                             create_time=from_datetime(d.create_time))


def documents_to_proto(items: list[work.DocumentVersion]) -> opportunities_pb2.ListDocumentsResponse:
    return opportunities_pb2.ListDocumentsResponse(documents=[document_to_proto(d) for d in items])


def activity_to_proto(a: work.Activity) -> opportunities_pb2.Activity:
    return opportunities_pb2.Activity(name=a.name, kind=a.kind, notes=a.notes, occur_time=from_datetime(a.occur_time),
                                      author=names.format("users", a.author_id),
                                      create_time=from_datetime(a.create_time))


def activities_to_proto(items: list[work.Activity]) -> opportunities_pb2.ListActivitiesResponse:
    return opportunities_pb2.ListActivitiesResponse(activities=[activity_to_proto(a) for a in items])

_TASK_STATUS = {work.OPEN: opportunities_pb2.Task.OPEN, work.DONE: opportunities_pb2.Task.DONE}

def task_to_proto(t: work.Task) -> opportunities_pb2.Task:
    return opportunities_pb2.Task(
        name=t.name, title=t.title, due_date=t.due_date.isoformat(), assignee=names.format("users", t.assignee_id),
        status=_TASK_STATUS[t.status], creator=names.format("users", t.creator_id) if t.creator_id else "",
        stage=t.stage_key, create_time=from_datetime(t.create_time),
        complete_time=from_datetime(t.complete_time),
        completed_by=names.format("users", t.completed_by) if t.completed_by else "",
        opportunity=names.format("opportunities", t.opportunity_id))


def tasks_to_proto(items: list[work.Task]) -> opportunities_pb2.ListTasksResponse:
    return opportunities_pb2.ListTasksResponse(tasks=[task_to_proto(t) for t in items])


def completions_to_proto(rows: list[tuple[str, str, datetime]]
                         ) -> opportunities_pb2.ListChecklistCompletionsResponse:
    return opportunities_pb2.ListChecklistCompletionsResponse(completions=[
        opportunities_pb2.ChecklistCompletion(item=item, completed_by=names.format("users", user_id),
                                              complete_time=from_datetime(time)) for item, user_id, time in rows])


def migrated_to_proto(ids: list[str]) -> opportunities_pb2.MigrateOpportunitiesResponse:
    return opportunities_pb2.MigrateOpportunitiesResponse(
        opportunities=[names.format("opportunities", i) for i in ids])


def settings_to_proto(s: registration.RegistrationSettings) -> opportunities_pb2.RegistrationSettings:
    return opportunities_pb2.RegistrationSettings(
        protection_days=s.protection_days, collision_mode=s.collision_mode,
        big_deal_threshold=f"{s.big_deal_threshold:.2f}" if s.big_deal_threshold is not None else "", etag=s.etag,
        update_time=from_datetime(s.update_time),
        updated_by=names.format("users", s.updated_by) if s.updated_by else "")


def change_to_proto(change: audit.Change) -> opportunities_pb2.OpportunityChange:
    return opportunities_pb2.OpportunityChange(
        name=change.name, actor=names.format("users", change.actor_id) if change.actor_id else "",
        change_time=from_datetime(change.change_time), kind=change.kind, reason=change.reason,
        changes=[opportunities_pb2.FieldChange(field=f.field, old_value=f.old_value, new_value=f.new_value)
                 for f in change.changes])


def changes_page_to_proto(page) -> opportunities_pb2.ListOpportunityChangesResponse:
    return opportunities_pb2.ListOpportunityChangesResponse(changes=[change_to_proto(c) for c in page.items],
                                                            next_page_token=page.next_page_token)


def import_report_to_proto(report: deal_import.DealsImportReport) -> opportunities_pb2.ImportOpportunitiesResponse:
    return opportunities_pb2.ImportOpportunitiesResponse(
        accepted=report.accepted, queued=report.queued, rejected=report.rejected_rows,
        already_imported=report.already_imported, committed=report.committed, content_sha256=report.content_sha256,
        rejections=[opportunities_pb2.ImportRejection(row_number=r.row_number, field=r.field, reason=r.reason)
                    for r in report.rejections])


def timeline_to_proto(page: Page) -> opportunities_pb2.ListCustomerTimelineResponse:
    return opportunities_pb2.ListCustomerTimelineResponse(items=[opportunities_pb2.TimelineItem(
        kind=i.kind, resource=i.resource, title=i.title, summary=i.summary, actor=i.actor,
        event_time=from_datetime(i.event_time), opportunity=i.opportunity, lead=i.lead) for i in page.items],
        next_page_token=page.next_page_token)
