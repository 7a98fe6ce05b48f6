"""The one module that converts between opportunities' protos (and the events it consumes) and its domain."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from opportunities.domain import alerts, decision_chain, gates, model, registration, work
from opportunities.service_layer import records, services
from shangji.leads.v1 import leads_pb2
from shangji.leads.v1.events_pb2 import (
    CustomerCreated,
    CustomerDecisionChainChanged,
    CustomerUpdated,
    LeadConverted,
)
from shangji.opportunities.v1 import events_pb2, opportunities_pb2
from shangji.samples.v1 import events_pb2 as samples_events
from shangji.teams.v1 import events_pb2 as teams_events
from shangji_kit import names, org_events
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
        owner=names.format("users", o.owner_id) if o.owner_id else "",
        registrant=names.format("users", o.registrant_id),
        pipeline=names.format("pipelines", o.pipeline_id), stage=o.stage_key, stage_display_name=o.stage_display_name,
        lead=names.format("leads", o.lead_id) if o.lead_id else "", create_time=_ts(o.create_time),
        update_time=_ts(o.update_time), etag=o.etag,
        amount=f"{o.amount:.2f}" if o.amount is not None else "", currency=o.currency,
        expected_close_date=o.expected_close_date.isoformat() if o.expected_close_date else "",
        probability=o.effective_probability, probability_note=o.probability_note, checklist=list(o.checklist),
        pipeline_version=o.pipeline_version, stage_category=o.stage_category,
        stage_enter_time=_ts(o.stage_enter_time) if o.stage_enter_time else None,
        win_date=o.win_date.isoformat() if o.win_date else "", lost_reason=o.lost_reason,
        lost_competitor=o.lost_competitor, product_lines=list(o.product_lines),
        registration_state=_REGISTRATION_STATES[o.registration_state],
        collides_with=names.format("opportunities", o.collides_with) if o.collides_with else "",
        customer=names.format("customers", o.customer_id) if o.customer_id else "",
        difficulty=_decimal(o.difficulty),
        quote_lines=[opportunities_pb2.QuoteLine(product=q.product, quantity=_decimal(q.quantity),
                                                 unit_price=_decimal(q.unit_price), description=q.description)
                     for q in o.quote_lines])


def _decimal(value) -> str:
    """A decimal without trailing zeros or exponent: 1.000 -> "1", 12.50 -> "12.5"."""
    return format(value.normalize(), "f")


_REGISTRATION_STATES = {registration.ACTIVE: opportunities_pb2.Opportunity.ACTIVE,
                        registration.PENDING_ARBITRATION: opportunities_pb2.Opportunity.PENDING_ARBITRATION,
                        registration.REJECTED: opportunities_pb2.Opportunity.REJECTED,
                        registration.UNASSIGNED: opportunities_pb2.Opportunity.UNASSIGNED}
_DECISIONS = {opportunities_pb2.ArbitrateRegistrationRequest.APPROVE: registration.APPROVE,
              opportunities_pb2.ArbitrateRegistrationRequest.REJECT: registration.REJECT}


def page_to_proto(page: services.OpportunityPage) -> opportunities_pb2.ListOpportunitiesResponse:
    return opportunities_pb2.ListOpportunitiesResponse(
        opportunities=[opportunity_to_proto(o) for o in page.opportunities], next_page_token=page.next_page_token)


def _alert_to_proto(alert: alerts.Alert) -> Message:
    o = alert.opportunity
    common = {"opportunity": opportunity_to_proto(o), "detect_time": _ts(alert.detect_time)}
    if alert.kind == alerts.CLOSE_DATE_APPROACHING:
        return events_pb2.OpportunityCloseDateApproaching(
            expected_close_date=o.expected_close_date.isoformat(), days_left=alert.days, **common)
    if alert.kind == alerts.CLOSE_DATE_PASSED:
        return events_pb2.OpportunityCloseDatePassed(
            expected_close_date=o.expected_close_date.isoformat(), days_overdue=alert.days, **common)
    if alert.kind == alerts.STALLED:
        return events_pb2.OpportunityStalled(stage=alert.stage_key, stage_enter_time=_ts(alert.stage_enter_time),
                                             max_days=alert.max_days, days_in_stage=alert.days, **common)
    if alert.kind == alerts.BIG_DEAL:
        return events_pb2.OpportunityBigDeal(amount=str(o.amount), threshold=str(alert.threshold),
                                             managers=[names.format("users", m) for m in alert.manager_ids],
                                             **common)
    raise TypeError(f"no proto for alert {alert.kind}")


def event_to_proto(event: object) -> tuple[Message, str]:
    """A domain event as (proto message, subject resource name) for the outbox."""
    if isinstance(event, work.TaskCreated):
        return (events_pb2.TaskCreated(task=task_to_proto(event.task), opportunity_title=event.opportunity_title),
                event.task.name)
    if isinstance(event, work.TaskCompleted):
        return (events_pb2.TaskCompleted(task=task_to_proto(event.task), actor=names.format("users", event.actor_id)),
                event.task.name)
    if isinstance(event, alerts.Alert):
        return _alert_to_proto(event), event.opportunity.name
    if isinstance(event, model.OpportunityRegistered):
        opportunity = event.opportunity
        return events_pb2.OpportunityRegistered(opportunity=opportunity_to_proto(opportunity)), opportunity.name
    if isinstance(event, model.OpportunityRegistrationQueued):
        o, c = event.opportunity, event.collision
        return events_pb2.OpportunityRegistrationQueued(
            opportunity=opportunity_to_proto(o), holder=c.holder, holder_since=_ts(c.since),
            holding_opportunity=names.format("opportunities", c.holding.opportunity_id),
            product_lines=list(c.shared_lines)), o.name
    if isinstance(event, model.OpportunityRegistrationArbitrated):
        o = event.opportunity
        return events_pb2.OpportunityRegistrationArbitrated(
            opportunity=opportunity_to_proto(o), decision=event.decision.upper(),
            arbiter=names.format("users", event.arbiter_id), note=event.note,
            arbitration_time=_ts(event.arbitration_time)), o.name
    if isinstance(event, model.StageMove):
        o = event.opportunity
        common = {"opportunity": opportunity_to_proto(o), "from_stage": event.from_stage,
                  "actor": names.format("users", event.actor_id), "change_time": _ts(event.change_time)}
        if isinstance(event, model.OpportunityStageChanged):
            message = events_pb2.OpportunityStageChanged(to_stage=event.to_stage, reason=event.reason,
                                                         backward=event.backward, **common)
        elif isinstance(event, model.OpportunityWon):
            message = events_pb2.OpportunityWon(**common)
        elif isinstance(event, model.OpportunityLost):
            message = events_pb2.OpportunityLost(reason=event.reason, competitor=o.lost_competitor, **common)
        elif isinstance(event, model.OpportunityReopened):
            message = events_pb2.OpportunityReopened(to_stage=event.to_stage, reason=event.reason, **common)
        else:
            raise TypeError(f"no proto for event {type(event).__name__}")
        return message, o.name
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
        contact_email=lead.email, region=lead.region, source=lead.source,
        customer_id=names.parse(event.customer, "customers", "customer") if event.customer else None,
        decision_chain=tuple(_chain_contact(c, f"decision_chain[{i}]") for i, c in enumerate(event.decision_chain)),
        without_opportunity=event.without_opportunity)


def _chain_contact(c: leads_pb2.DecisionChainContact, field: str) -> decision_chain.DealContact:
    """A contact of leads' account-level chain, not yet the deal's (ids and times come with the copy)."""
    return decision_chain.DealContact(
        id="", opportunity_id="", display_name=c.name,
        contact_id=names.parse(c.contact, "contacts", f"{field}.contact") if c.contact else None, title=c.title,
        phone=c.phone, email=c.email, buying_role=c.buying_role, attitude=c.attitude, satisfaction=c.satisfaction)


def customer_chain_from_event(env: Envelope) -> records.CustomerChain:
    event = env.payload(CustomerDecisionChainChanged)
    return records.CustomerChain(
        customer_id=names.parse(event.customer, "customers", "customer"), revision=event.revision,
        contacts=tuple(_chain_contact(c, f"contacts[{i}]") for i, c in enumerate(event.contacts)),
        change_time=event.change_time.ToDatetime(tzinfo=UTC) if event.HasField("change_time") else None)


_CUSTOMER_EVENTS = {"shangji.leads.v1.CustomerCreated": CustomerCreated,
                    "shangji.leads.v1.CustomerUpdated": CustomerUpdated}


def customer_owner_from_event(env: Envelope) -> records.CustomerOwner:
    """Who owns a customer, from leads' CustomerCreated / CustomerUpdated (the whole customer)."""
    customer = env.payload(_CUSTOMER_EVENTS[env.type]).customer
    return records.CustomerOwner(
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


def update_from_request(request: opportunities_pb2.UpdateOpportunityRequest) -> services.UpdateOpportunity:
    """The change an UpdateOpportunity call asks for; the mask is checked by the use case."""
    o = request.opportunity
    return services.UpdateOpportunity(
        opportunity_id=names.parse(o.name, "opportunities", "opportunity.name"),
        title=o.title, update_mask=tuple(request.update_mask.paths), etag=request.etag, amount=o.amount,
        currency=o.currency, expected_close_date=o.expected_close_date, probability=o.probability,
        probability_note=o.probability_note, checklist=tuple(o.checklist), product_lines=tuple(o.product_lines),
        customer_id=names.parse(o.customer, "customers", "opportunity.customer") if o.customer else None,
        difficulty=o.difficulty, quote_lines=_quote_lines(o))


def _quote_lines(o: opportunities_pb2.Opportunity) -> tuple[tuple[str, str, str, str], ...]:
    return tuple((q.product, q.quantity, q.unit_price, q.description) for q in o.quote_lines)


def register_from_request(request: opportunities_pb2.RegisterOpportunityRequest) -> services.RegisterOpportunity:
    o = request.opportunity
    return services.RegisterOpportunity(
        customer_company=o.customer_company, product_lines=tuple(o.product_lines), title=o.title, amount=o.amount,
        currency=o.currency, expected_close_date=o.expected_close_date, region=o.region, source=o.source,
        contact_name=o.contact_name, contact_phone=o.contact_phone, contact_email=o.contact_email,
        pipeline=o.pipeline, route=request.route, customer=o.customer, difficulty=o.difficulty,
        quote_lines=_quote_lines(o))


def assigned_to_proto(assigned: list[model.Opportunity]) -> opportunities_pb2.AssignOpportunitiesResponse:
    return opportunities_pb2.AssignOpportunitiesResponse(opportunities=[opportunity_to_proto(o) for o in assigned])


def assignments_from_request(request: opportunities_pb2.AssignOpportunitiesRequest
                             ) -> list[services.Assignment]:
    return [services.Assignment(name=a.name, assignee=a.assignee) for a in request.assignments]


def arbitrate_from_request(request: opportunities_pb2.ArbitrateRegistrationRequest
                           ) -> services.ArbitrateRegistration:
    return services.ArbitrateRegistration(opportunity_id=_deal_id(request),
                                          decision=_DECISIONS.get(request.decision, ""), note=request.note,
                                          etag=request.etag)


def _deal_id(request) -> str:
    return names.parse(request.name, "opportunities")


def advance_from_request(request: opportunities_pb2.AdvanceStageRequest) -> services.AdvanceStage:
    return services.AdvanceStage(opportunity_id=_deal_id(request), etag=request.etag,
                                 target_stage=request.target_stage, reason=request.reason)


def win_from_request(request: opportunities_pb2.WinOpportunityRequest) -> services.WinOpportunity:
    return services.WinOpportunity(opportunity_id=_deal_id(request), etag=request.etag, amount=request.amount,
                                   win_date=request.win_date)


def lose_from_request(request: opportunities_pb2.LoseOpportunityRequest) -> services.LoseOpportunity:
    return services.LoseOpportunity(opportunity_id=_deal_id(request), etag=request.etag, reason=request.reason,
                                    competitor=request.competitor)


def reopen_from_request(request: opportunities_pb2.ReopenOpportunityRequest) -> services.ReopenOpportunity:
    return services.ReopenOpportunity(opportunity_id=_deal_id(request), etag=request.etag, reason=request.reason)


def history_to_proto(history: services.StageHistory) -> opportunities_pb2.ListStageHistoryResponse:
    entries = []
    for stay in history.stays:
        stage = history.pipeline.find(stay.stage_key)
        entries.append(opportunities_pb2.StageHistoryEntry(
            stage=stay.stage_key, stage_display_name=stage.display_name if stage else "",
            enter_time=_ts(stay.enter_time), exit_time=_ts(stay.exit_time) if stay.exit_time else None,
            actor=names.format("users", stay.actor_id) if stay.actor_id else "", reason=stay.reason,
            duration_seconds=stay.duration_seconds(history.now)))
    durations = []
    for key, seconds, stays in model.time_in_stages(history.stays, history.now):
        stage = history.pipeline.find(key)
        durations.append(opportunities_pb2.StageDuration(
            stage=key, stage_display_name=stage.display_name if stage else "", duration_seconds=seconds, stays=stays))
    return opportunities_pb2.ListStageHistoryResponse(entries=entries, stage_durations=durations)


# --- pipelines -------------------------------------------------------------------------------------

def _criterion_to_proto(c: gates.Criterion) -> opportunities_pb2.ExitCriterion:
    return opportunities_pb2.ExitCriterion(kind=c.kind, fields=list(c.fields), items=list(c.items), document=c.document,
                                           criteria=[_criterion_to_proto(child) for child in c.criteria])


def pipeline_to_proto(p: model.Pipeline) -> opportunities_pb2.Pipeline:
    return opportunities_pb2.Pipeline(
        name=p.name, id=p.id, key=p.key, display_name=p.display_name, version=p.version, is_default=p.is_default,
        allows_skipping=p.allows_skipping, lost_reasons=list(p.lost_reasons),
        create_time=_ts(p.create_time) if p.create_time else None,
        stages=[opportunities_pb2.PipelineStage(
            key=s.key, display_name=s.display_name, category=s.category, probability=s.probability,
            max_days=s.max_days or 0,
            checklist=[opportunities_pb2.ChecklistItem(key=i.key, role=i.role, description=i.description)
                       for i in s.checklist],
            exit_criteria=[_criterion_to_proto(c) for c in s.exit_criteria],
            tasks_on_entry=[opportunities_pb2.TaskTemplate(title=t.title, role=t.role, due_in_days=t.due_in_days)
                            for t in s.tasks_on_entry]) for s in p.stages])


def pipelines_page_to_proto(page: services.PipelinePage) -> opportunities_pb2.ListPipelinesResponse:
    return opportunities_pb2.ListPipelinesResponse(pipelines=[pipeline_to_proto(p) for p in page.pipelines],
                                                   next_page_token=page.next_page_token)


def _criterion_to_dict(c: opportunities_pb2.ExitCriterion) -> dict:
    """A criterion message in the dict form the domain loader validates (so the API and YAML fail alike)."""
    if c.kind == gates.REQUIRED_FIELDS:
        return {c.kind: list(c.fields)}
    if c.kind == gates.CHECKLIST_COMPLETED:
        return {c.kind: list(c.items)}
    if c.kind == gates.DOCUMENT_PRESENT:
        return {c.kind: c.document}
    if c.kind in gates.COMBINATORS:
        return {c.kind: [_criterion_to_dict(child) for child in c.criteria]}
    return {c.kind: True}


def pipeline_definition_from_proto(p: opportunities_pb2.Pipeline) -> dict:
    def stage(s: opportunities_pb2.PipelineStage) -> dict:
        checklist: dict[str, list] = {}
        for item in s.checklist:
            checklist.setdefault(item.role, []).append({"key": item.key, "description": item.description})
        out = {"key": s.key, "display_name": s.display_name, "category": s.category or "open",
               "probability": s.probability, "checklist": checklist,
               "exit_criteria": [_criterion_to_dict(c) for c in s.exit_criteria],
               "tasks_on_entry": [{"title": t.title, "role": t.role, "due_in_days": t.due_in_days}
                                  for t in s.tasks_on_entry]}
        if s.max_days:
            out["max_days"] = s.max_days
        return out

    return {"key": p.key, "display_name": p.display_name, "allows_skipping": p.allows_skipping,
            "lost_reasons": list(p.lost_reasons), "stages": [stage(s) for s in p.stages]}


# --- teams' events -----------------------------------------------------------------------------
# Ids are projected as plain, canonical uuid text (what ``opportunities.owner_id::text`` reads), parsed
# from the resource names teams sends; a malformed event is INVALID_ARGUMENT and ends in the .dlq queue.

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


def _time(ts: Timestamp, field: str) -> datetime:
    """A timestamp a client sent; INVALID_ARGUMENT naming ``field`` when it lies outside what a datetime holds
    (years 1 to 9999) or its nanos are out of range."""
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument.field(field, "not a valid time (seconds and nanos out of range)") from exc


def _envelope_time(env: Envelope) -> datetime:
    try:
        time = datetime.fromisoformat(env.time.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return time if time.tzinfo else time.replace(tzinfo=UTC)


# --- a deal's records ---------------------------------------------------------------------------------

def parent_id(parent: str, field: str = "parent") -> str:
    return names.parse(parent, "opportunities", field)


def child_ids(name: str, collection: str, field: str = "name") -> tuple[str, str]:
    """(deal id, child id) of ``opportunities/{id}/<collection>/{id}``; INVALID_ARGUMENT naming ``field``."""
    head, sep, tail = name.rpartition(f"/{collection}/")
    if not sep:
        raise InvalidArgument.field(field, f"must look like opportunities/{{id}}/{collection}/{{id}}, got {name!r}")
    return names.parse(head, "opportunities", field), names.parse(f"{collection}/{tail}", collection, field)


def contact_to_proto(c: decision_chain.DealContact) -> opportunities_pb2.DealContact:
    return opportunities_pb2.DealContact(
        name=c.name, contact=names.format("contacts", c.contact_id) if c.contact_id else "",
        display_name=c.display_name, title=c.title, phone=c.phone, email=c.email, buying_role=c.buying_role,
        attitude=c.attitude, satisfaction=c.satisfaction, create_time=_ts(c.create_time) if c.create_time else None,
        update_time=_ts(c.update_time) if c.update_time else None)


def contact_from_proto(c: opportunities_pb2.DealContact, opportunity_id: str = "") -> decision_chain.DealContact:
    return decision_chain.DealContact(
        id="", opportunity_id=opportunity_id, display_name=c.display_name,
        contact_id=names.parse(c.contact, "contacts", "contact.contact") if c.contact else None, title=c.title,
        phone=c.phone, email=c.email, buying_role=c.buying_role, attitude=c.attitude, satisfaction=c.satisfaction)


def contact_changes(c: opportunities_pb2.DealContact) -> dict[str, object]:
    return {f: getattr(c, f) for f in decision_chain.UPDATABLE}


def chain_to_proto(contacts: list[decision_chain.DealContact]) -> opportunities_pb2.ListDecisionChainResponse:
    return opportunities_pb2.ListDecisionChainResponse(contacts=[contact_to_proto(c) for c in contacts])


def requirement_to_proto(r: work.Requirement) -> opportunities_pb2.Requirement:
    return opportunities_pb2.Requirement(name=r.name, text=r.text, priority=r.priority, answer=r.answer,
                                         answered=r.answered, create_time=_ts(r.create_time),
                                         update_time=_ts(r.update_time))


def requirement_from_proto(r: opportunities_pb2.Requirement, opportunity_id: str) -> work.Requirement:
    return work.Requirement(id="", opportunity_id=opportunity_id, text=r.text, priority=r.priority, answer=r.answer)


def requirements_to_proto(items: list[work.Requirement]) -> opportunities_pb2.ListRequirementsResponse:
    return opportunities_pb2.ListRequirementsResponse(requirements=[requirement_to_proto(r) for r in items],
                                                      answered_count=sum(r.answered for r in items))


def document_to_proto(d: work.DocumentVersion) -> opportunities_pb2.DocumentVersion:
    return opportunities_pb2.DocumentVersion(document=d.document, version=d.version, uri=d.uri, note=d.note,
                                             author=names.format("users", d.author_id),
                                             create_time=_ts(d.create_time))


def document_from_request(request: opportunities_pb2.AddDocumentVersionRequest) -> work.DocumentVersion:
    d = request.document
    return work.DocumentVersion(opportunity_id=parent_id(request.parent), document=d.document, uri=d.uri,
                                note=d.note, author_id="")


def documents_to_proto(items: list[work.DocumentVersion]) -> opportunities_pb2.ListDocumentsResponse:
    return opportunities_pb2.ListDocumentsResponse(documents=[document_to_proto(d) for d in items])


def activity_to_proto(a: work.Activity) -> opportunities_pb2.Activity:
    return opportunities_pb2.Activity(name=a.name, kind=a.kind, notes=a.notes, occur_time=_ts(a.occur_time),
                                      author=names.format("users", a.author_id), create_time=_ts(a.create_time))


def activity_from_request(request: opportunities_pb2.AddActivityRequest) -> work.Activity:
    a = request.activity
    occur = _time(a.occur_time, "activity.occur_time") if a.HasField("occur_time") else datetime.now(UTC)
    return work.Activity(id="", opportunity_id=parent_id(request.parent), kind=a.kind, occur_time=occur,
                         author_id="", notes=a.notes)


def activities_to_proto(items: list[work.Activity]) -> opportunities_pb2.ListActivitiesResponse:
    return opportunities_pb2.ListActivitiesResponse(activities=[activity_to_proto(a) for a in items])


_TASK_STATUS = {work.OPEN: opportunities_pb2.Task.OPEN, work.DONE: opportunities_pb2.Task.DONE}


def task_to_proto(t: work.Task) -> opportunities_pb2.Task:
    return opportunities_pb2.Task(
        name=t.name, title=t.title, due_date=t.due_date.isoformat(), assignee=names.format("users", t.assignee_id),
        status=_TASK_STATUS[t.status], creator=names.format("users", t.creator_id) if t.creator_id else "",
        stage=t.stage_key, create_time=_ts(t.create_time),
        complete_time=_ts(t.complete_time) if t.complete_time else None,
        completed_by=names.format("users", t.completed_by) if t.completed_by else "",
        opportunity=names.format("opportunities", t.opportunity_id))


def tasks_to_proto(items: list[work.Task]) -> opportunities_pb2.ListTasksResponse:
    return opportunities_pb2.ListTasksResponse(tasks=[task_to_proto(t) for t in items])


def task_from_request(request: opportunities_pb2.CreateTaskRequest) -> records.CreateTask:
    t = request.task
    return records.CreateTask(
        opportunity_id=parent_id(request.parent), title=t.title,
        due_date=model.parse_date(t.due_date, "task.due_date"),
        assignee_id=names.parse(t.assignee, "users", "task.assignee") if t.assignee else None)


def completions_to_proto(rows: list[tuple[str, str, datetime]]
                         ) -> opportunities_pb2.ListChecklistCompletionsResponse:
    return opportunities_pb2.ListChecklistCompletionsResponse(completions=[
        opportunities_pb2.ChecklistCompletion(item=item, completed_by=names.format("users", user_id),
                                              complete_time=_ts(time)) for item, user_id, time in rows])


def migrate_from_request(request: opportunities_pb2.MigrateOpportunitiesRequest) -> records.MigrateOpportunities:
    return records.MigrateOpportunities(
        pipeline=request.pipeline, from_version=request.from_version, to_version=request.to_version,
        stage_mapping=dict(request.stage_mapping), opportunities=tuple(request.opportunities))


def migrated_to_proto(ids: list[str]) -> opportunities_pb2.MigrateOpportunitiesResponse:
    return opportunities_pb2.MigrateOpportunitiesResponse(
        opportunities=[names.format("opportunities", i) for i in ids])
