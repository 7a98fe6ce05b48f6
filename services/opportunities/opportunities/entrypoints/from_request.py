"""gRPC requests as the service layer's commands, inbound: resource names parsed (INVALID_ARGUMENT naming the field),
enums and messages read into plain values. Nothing here answers; ``adapters.to_proto`` does."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from opportunities.domain import decision_chain, gates, model, registration, work
from opportunities.service_layer import assignment, deal_import, lifecycle, pipelines, registration_settings, tasks
from opportunities.service_layer import registration as registering
from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit import names
from shangji_kit.errors import InvalidArgument

_DECISIONS = {opportunities_pb2.ArbitrateRegistrationRequest.APPROVE: registration.APPROVE,
              opportunities_pb2.ArbitrateRegistrationRequest.REJECT: registration.REJECT}


def update_from_request(request: opportunities_pb2.UpdateOpportunityRequest) -> lifecycle.UpdateOpportunity:
    """The change an UpdateOpportunity call asks for; the mask is checked by the use case."""
    o = request.opportunity
    return lifecycle.UpdateOpportunity(
        opportunity_id=names.parse(o.name, "opportunities", "opportunity.name"),
        title=o.title, update_mask=tuple(request.update_mask.paths), etag=request.etag, amount=o.amount,
        currency=o.currency, expected_close_date=o.expected_close_date, probability=o.probability,
        probability_note=o.probability_note, checklist=tuple(o.checklist), product_lines=tuple(o.product_lines),
        customer_id=names.parse(o.customer, "customers", "opportunity.customer") if o.customer else None,
        difficulty=o.difficulty, quote_lines=_quote_lines(o))


def _quote_lines(o: opportunities_pb2.Opportunity) -> tuple[tuple[str, str, str, str], ...]:
    return tuple((q.product, q.quantity, q.unit_price, q.description) for q in o.quote_lines)


def register_from_request(request: opportunities_pb2.RegisterOpportunityRequest) -> registering.RegisterOpportunity:
    o = request.opportunity
    return registering.RegisterOpportunity(
        customer_company=o.customer_company, product_lines=tuple(o.product_lines), title=o.title, amount=o.amount,
        currency=o.currency, expected_close_date=o.expected_close_date, region=o.region, source=o.source,
        contact_name=o.contact_name, contact_phone=o.contact_phone, contact_email=o.contact_email,
        pipeline=o.pipeline, route=request.route, customer=o.customer, difficulty=o.difficulty,
        quote_lines=_quote_lines(o), request_id=request.request_id)


def import_from_request(header: opportunities_pb2.ImportOpportunitiesHeader, rows: list[tuple[int, list[str]]]
                        ) -> deal_import.ImportOpportunities:
    return deal_import.ImportOpportunities(columns=list(header.columns), rows=rows, owner=header.owner,
                                           all_or_nothing=header.all_or_nothing, file_name=header.file_name)


def assignments_from_request(request: opportunities_pb2.AssignOpportunitiesRequest
                             ) -> list[assignment.Assignment]:
    return [assignment.Assignment(name=a.name, assignee=a.assignee) for a in request.assignments]


def reassign_from_request(request: opportunities_pb2.ReassignOpportunityRequest
                          ) -> assignment.ReassignOpportunity:
    return assignment.ReassignOpportunity(opportunity_id=_deal_id(request),
                                          new_owner_id=names.parse(request.new_owner, "users", "new_owner"),
                                          etag=request.etag, reason=request.reason)


def arbitrate_from_request(request: opportunities_pb2.ArbitrateRegistrationRequest
                           ) -> registering.ArbitrateRegistration:
    return registering.ArbitrateRegistration(opportunity_id=_deal_id(request),
                                          decision=_DECISIONS.get(request.decision, ""), note=request.note,
                                          etag=request.etag)


def _deal_id(request) -> str:
    return names.parse(request.name, "opportunities")


def advance_from_request(request: opportunities_pb2.AdvanceStageRequest) -> lifecycle.AdvanceStage:
    return lifecycle.AdvanceStage(opportunity_id=_deal_id(request), etag=request.etag,
                                 target_stage=request.target_stage, reason=request.reason)


def win_from_request(request: opportunities_pb2.WinOpportunityRequest) -> lifecycle.WinOpportunity:
    return lifecycle.WinOpportunity(opportunity_id=_deal_id(request), etag=request.etag, amount=request.amount,
                                   win_date=request.win_date, reason=request.reason,
                                   competitors_beaten=tuple(request.competitors_beaten))


def lose_from_request(request: opportunities_pb2.LoseOpportunityRequest) -> lifecycle.LoseOpportunity:
    return lifecycle.LoseOpportunity(opportunity_id=_deal_id(request), etag=request.etag, reason=request.reason,
                                    competitor=request.competitor)


def reopen_from_request(request: opportunities_pb2.ReopenOpportunityRequest) -> lifecycle.ReopenOpportunity:
    return lifecycle.ReopenOpportunity(opportunity_id=_deal_id(request), etag=request.etag, reason=request.reason)


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


def parent_id(parent: str, field: str = "parent") -> str:
    return names.parse(parent, "opportunities", field)


def child_ids(name: str, collection: str, field: str = "name") -> tuple[str, str]:
    """(deal id, child id) of ``opportunities/{id}/<collection>/{id}``; INVALID_ARGUMENT naming ``field``."""
    head, sep, tail = name.rpartition(f"/{collection}/")
    if not sep:
        raise InvalidArgument.field(field, f"must look like opportunities/{{id}}/{collection}/{{id}}, got {name!r}")
    return names.parse(head, "opportunities", field), names.parse(f"{collection}/{tail}", collection, field)


def contact_from_proto(c: opportunities_pb2.DealContact, opportunity_id: str = "") -> decision_chain.DealContact:
    return decision_chain.DealContact(
        id="", opportunity_id=opportunity_id, display_name=c.display_name,
        contact_id=names.parse(c.contact, "contacts", "contact.contact") if c.contact else None, title=c.title,
        phone=c.phone, email=c.email, buying_role=c.buying_role, attitude=c.attitude, satisfaction=c.satisfaction)


def contact_changes(c: opportunities_pb2.DealContact) -> dict[str, object]:
    return {f: getattr(c, f) for f in decision_chain.UPDATABLE}


def requirement_from_proto(r: opportunities_pb2.Requirement, opportunity_id: str) -> work.Requirement:
    return work.Requirement(id="", opportunity_id=opportunity_id, text=r.text, priority=r.priority, answer=r.answer)


def document_from_request(request: opportunities_pb2.AddDocumentVersionRequest) -> work.DocumentVersion:
    d = request.document
    return work.DocumentVersion(opportunity_id=parent_id(request.parent), document=d.document, uri=d.uri,
                                note=d.note, author_id="")


def activity_from_request(request: opportunities_pb2.AddActivityRequest) -> work.Activity:
    a = request.activity
    occur = _time(a.occur_time, "activity.occur_time") if a.HasField("occur_time") else datetime.now(UTC)
    return work.Activity(id="", opportunity_id=parent_id(request.parent), kind=a.kind, occur_time=occur,
                         author_id="", notes=a.notes)


def task_from_request(request: opportunities_pb2.CreateTaskRequest) -> tasks.CreateTask:
    t = request.task
    return tasks.CreateTask(
        opportunity_id=parent_id(request.parent), title=t.title,
        due_date=model.parse_date(t.due_date, "task.due_date"),
        assignee_id=names.parse(t.assignee, "users", "task.assignee") if t.assignee else None)


def migrate_from_request(request: opportunities_pb2.MigrateOpportunitiesRequest) -> pipelines.MigrateOpportunities:
    return pipelines.MigrateOpportunities(
        pipeline=request.pipeline, from_version=request.from_version, to_version=request.to_version,
        stage_mapping=dict(request.stage_mapping), opportunities=tuple(request.opportunities))


def _time(ts: Timestamp, field: str) -> datetime:
    """A timestamp a client sent; INVALID_ARGUMENT naming ``field`` when it lies outside what a datetime holds
    (years 1 to 9999) or its nanos are out of range."""
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument.field(field, "not a valid time (seconds and nanos out of range)") from exc


def settings_update_from_request(request: opportunities_pb2.UpdateRegistrationSettingsRequest
                                 ) -> registration_settings.UpdateRegistrationSettings:
    s = request.settings
    return registration_settings.UpdateRegistrationSettings(
        update_mask=tuple(request.update_mask.paths), protection_days=s.protection_days,
        collision_mode=s.collision_mode, big_deal_threshold=s.big_deal_threshold, etag=request.etag)
