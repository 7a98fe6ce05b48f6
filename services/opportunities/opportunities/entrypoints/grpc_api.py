"""The opportunities gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.protobuf import empty_pb2

from opportunities import bootstrap
from opportunities.adapters import to_proto as out
from opportunities.entrypoints import export_columns, reports_api
from opportunities.entrypoints import from_request as inbound
from opportunities.service_layer import (
    assignment,
    deal_import,
    exports,
    lifecycle,
    pipelines,
    records,
    registration,
    registration_settings,
    tasks,
    timeline,
)
from shangji.opportunities.v1 import opportunities_pb2, opportunities_pb2_grpc
from shangji_kit import auth, caller, names, table_import
from shangji_kit.rpc import export as export_rpc
from shangji_kit.rpc import server
from shangji_kit.settings import Settings

# ExportTasks' parent for the tasks of every deal the caller may see (AIP-159).
EVERY_DEAL = "opportunities/-"


class OpportunitiesApi(opportunities_pb2_grpc.OpportunitiesServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def GetOpportunity(self, request, context):
        opportunity_id = names.parse(request.name, "opportunities")
        opportunity = lifecycle.get_opportunity(opportunity_id, _caller(), self.uow())
        return out.opportunity_to_proto(opportunity)

    def ListOpportunities(self, request, context):
        page = lifecycle.list_opportunities(_caller(), request.page_size, request.page_token, self.uow(),
                                            request.filter, request.order_by)
        return out.page_to_proto(page)

    def ExportOpportunities(self, request, context):
        fmt = export_rpc.export_format(request.format)
        source = exports.export_opportunities(_caller(), self.uow(), request.filter, request.order_by)
        yield from export_rpc.stream(opportunities_pb2.ExportChunk, export_columns.OPPORTUNITY_COLUMNS, source, fmt,
                                     "opportunities", datetime.now(UTC))

    def ExportTasks(self, request, context):
        fmt = export_rpc.export_format(request.format)
        every_deal = request.parent == EVERY_DEAL
        opportunity_id = None if every_deal else inbound.parent_id(request.parent)
        source = exports.export_tasks(opportunity_id, _caller(), self.uow(), request.filter, request.order_by)
        yield from export_rpc.stream(opportunities_pb2.ExportChunk, export_columns.TASK_COLUMNS, source, fmt,
                                     "tasks" if every_deal else f"tasks-{opportunity_id}", datetime.now(UTC))

    def UpdateOpportunity(self, request, context):
        opportunity = lifecycle.update_opportunity(inbound.update_from_request(request), _caller(),
                                                  self.uow())
        return out.opportunity_to_proto(opportunity)

    def RegisterOpportunity(self, request, context):
        return out.opportunity_to_proto(registration.register_opportunity(
            inbound.register_from_request(request), _caller(), self.uow()))

    def ImportOpportunities(self, request_iterator, context):
        header, rows = table_import.read_stream(request_iterator)
        return out.import_report_to_proto(deal_import.import_opportunities(
            inbound.import_from_request(header, rows), _caller(), self.uow()))

    def ArbitrateRegistration(self, request, context):
        return out.opportunity_to_proto(registration.arbitrate_registration(
            inbound.arbitrate_from_request(request), _caller(), self.uow()))

    def GetRegistrationSettings(self, request, context):
        return out.settings_to_proto(registration_settings.get_registration_settings(_caller(), self.uow()))

    def UpdateRegistrationSettings(self, request, context):
        return out.settings_to_proto(registration_settings.update_registration_settings(
            inbound.settings_update_from_request(request), _caller(), self.uow()))

    def AssignOpportunities(self, request, context):
        assigned = assignment.assign_opportunities(inbound.assignments_from_request(request),
                                                 _caller(), self.uow())
        return out.assigned_to_proto(assigned)

    def AdvanceStage(self, request, context):
        return out.opportunity_to_proto(lifecycle.advance_stage(
            inbound.advance_from_request(request), _caller(), self.uow()))

    def WinOpportunity(self, request, context):
        return out.opportunity_to_proto(lifecycle.win_opportunity(
            inbound.win_from_request(request), _caller(), self.uow()))

    def LoseOpportunity(self, request, context):
        return out.opportunity_to_proto(lifecycle.lose_opportunity(
            inbound.lose_from_request(request), _caller(), self.uow()))

    def ReopenOpportunity(self, request, context):
        return out.opportunity_to_proto(lifecycle.reopen_opportunity(
            inbound.reopen_from_request(request), _caller(), self.uow()))

    def ReassignOpportunity(self, request, context):
        return out.opportunity_to_proto(assignment.reassign_opportunity(
            inbound.reassign_from_request(request), _caller(), self.uow()))

    def ListOpportunityChanges(self, request, context):
        page = lifecycle.list_opportunity_changes(inbound.parent_id(request.parent), _caller(), request.page_size,
                                                  request.page_token, self.uow())
        return out.changes_page_to_proto(page)

    def ListStageHistory(self, request, context):
        history = lifecycle.list_stage_history(names.parse(request.name, "opportunities"), _caller(),
                                              self.uow())
        return out.history_to_proto(history)

    def CreatePipeline(self, request, context):
        pipeline = pipelines.create_pipeline(inbound.pipeline_definition_from_proto(request.pipeline),
                                            _caller(), self.uow())
        return out.pipeline_to_proto(pipeline)

    def GetPipeline(self, request, context):
        pipeline = pipelines.get_pipeline(names.parse(request.name, "pipelines"), request.version, self.uow())
        return out.pipeline_to_proto(pipeline)

    def ListPipelines(self, request, context):
        page = pipelines.list_pipelines(request.page_size, request.page_token, self.uow())
        return out.pipelines_page_to_proto(page)

    # --- a deal's records ----------------------------------------------------------------------------

    def CompleteChecklistItem(self, request, context):
        return out.opportunity_to_proto(records.complete_checklist_item(
            inbound.parent_id(request.name, "name"), request.item, request.etag, _caller(), self.uow()))

    def ListChecklistCompletions(self, request, context):
        return out.completions_to_proto(records.list_checklist_completions(
            inbound.parent_id(request.name, "name"), _caller(), self.uow()))

    def AddDecisionChainContact(self, request, context):
        deal_id = inbound.parent_id(request.parent)
        return out.contact_to_proto(records.add_contact(
            deal_id, inbound.contact_from_proto(request.contact, deal_id), _caller(), self.uow()))

    def UpdateDecisionChainContact(self, request, context):
        deal_id, contact_id = inbound.child_ids(request.contact.name, "contacts", "contact.name")
        return out.contact_to_proto(records.update_contact(
            deal_id, contact_id, inbound.contact_changes(request.contact), tuple(request.update_mask.paths),
            _caller(), self.uow()))

    def RemoveDecisionChainContact(self, request, context):
        records.remove_contact(*inbound.child_ids(request.name, "contacts"), _caller(), self.uow())
        return empty_pb2.Empty()

    def ListDecisionChain(self, request, context):
        return out.chain_to_proto(records.list_contacts(inbound.parent_id(request.parent), _caller(),
                                                             self.uow()))

    def AddRequirement(self, request, context):
        deal_id = inbound.parent_id(request.parent)
        return out.requirement_to_proto(records.add_requirement(
            deal_id, inbound.requirement_from_proto(request.requirement, deal_id), _caller(), self.uow()))

    def UpdateRequirement(self, request, context):
        deal_id, requirement_id = inbound.child_ids(request.requirement.name, "requirements", "requirement.name")
        r = request.requirement
        return out.requirement_to_proto(records.update_requirement(
            deal_id, requirement_id, {"text": r.text, "priority": r.priority, "answer": r.answer},
            tuple(request.update_mask.paths), _caller(), self.uow()))

    def ListRequirements(self, request, context):
        return out.requirements_to_proto(records.list_requirements(
            inbound.parent_id(request.parent), _caller(), self.uow()))

    def AddDocumentVersion(self, request, context):
        return out.document_to_proto(records.add_document_version(
            inbound.document_from_request(request), _caller(), self.uow()))

    def ListDocuments(self, request, context):
        return out.documents_to_proto(records.list_documents(
            inbound.parent_id(request.parent), request.document, _caller(), self.uow()))

    def AddActivity(self, request, context):
        return out.activity_to_proto(records.add_activity(inbound.activity_from_request(request), _caller(),
                                                               self.uow()))

    def ListActivities(self, request, context):
        return out.activities_to_proto(records.list_activities(inbound.parent_id(request.parent), _caller(),
                                                                    self.uow()))

    def CreateTask(self, request, context):
        return out.task_to_proto(tasks.create_task(inbound.task_from_request(request), _caller(),
                                                          self.uow()))

    def CompleteTask(self, request, context):
        return out.task_to_proto(tasks.complete_task(*inbound.child_ids(request.name, "tasks"), _caller(),
                                                            self.uow()))

    def ReopenTask(self, request, context):
        return out.task_to_proto(tasks.reopen_task(*inbound.child_ids(request.name, "tasks"), _caller(),
                                                          self.uow()))

    def ListTasks(self, request, context):
        return out.tasks_to_proto(tasks.list_tasks(inbound.parent_id(request.parent), _caller(), self.uow(),
                                                   request.filter, request.order_by))

    def ListMyTasks(self, request, context):
        return out.tasks_to_proto(tasks.list_my_tasks(_caller(), self.uow()))

    def ListCustomerTimeline(self, request, context):
        customer_id = names.parse(request.customer, "customers", "customer")
        return out.timeline_to_proto(timeline.list_customer_timeline(
            customer_id, _caller(), request.page_size, request.page_token, self.uow()))

    def MigrateOpportunities(self, request, context):
        return out.migrated_to_proto(pipelines.migrate_opportunities(
            inbound.migrate_from_request(request), _caller(), self.uow()))


def _caller() -> str:
    """The caller's user id (the kit's one rule: UNAUTHENTICATED when the token's subject is not one)."""
    return caller.user_id(auth.principal().user_id)


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    opportunities_pb2_grpc.add_OpportunitiesServiceServicer_to_server(
        OpportunitiesApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.opportunities.v1.OpportunitiesService", *reports_api.register(grpc_server, settings)]


if __name__ == "__main__":
    server.main("opportunities", register)
