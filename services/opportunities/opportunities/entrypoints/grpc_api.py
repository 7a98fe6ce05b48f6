"""The opportunities gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from opportunities import bootstrap
from opportunities.adapters import protomap
from opportunities.service_layer import records, services
from shangji.opportunities.v1 import opportunities_pb2_grpc
from shangji_kit import auth, names
from shangji_kit.rpc import server
from shangji_kit.settings import Settings


class OpportunitiesApi(opportunities_pb2_grpc.OpportunitiesServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def GetOpportunity(self, request, context):
        opportunity_id = names.parse(request.name, "opportunities")
        opportunity = services.get_opportunity(opportunity_id, auth.principal().user_id, self.uow())
        return protomap.opportunity_to_proto(opportunity)

    def ListOpportunities(self, request, context):
        page = services.list_opportunities(auth.principal().user_id, request.page_size, request.page_token,
                                           self.uow())
        return protomap.page_to_proto(page)

    def UpdateOpportunity(self, request, context):
        opportunity = services.update_opportunity(protomap.update_from_request(request), auth.principal().user_id,
                                                  self.uow())
        return protomap.opportunity_to_proto(opportunity)

    def RegisterOpportunity(self, request, context):
        return protomap.opportunity_to_proto(services.register_opportunity(
            protomap.register_from_request(request), auth.principal().user_id, self.uow()))

    def ArbitrateRegistration(self, request, context):
        return protomap.opportunity_to_proto(services.arbitrate_registration(
            protomap.arbitrate_from_request(request), auth.principal().user_id, self.uow()))

    def AssignOpportunities(self, request, context):
        assigned = services.assign_opportunities(protomap.assignments_from_request(request),
                                                 auth.principal().user_id, self.uow())
        return protomap.assigned_to_proto(assigned)

    def AdvanceStage(self, request, context):
        return protomap.opportunity_to_proto(services.advance_stage(
            protomap.advance_from_request(request), auth.principal().user_id, self.uow()))

    def WinOpportunity(self, request, context):
        return protomap.opportunity_to_proto(services.win_opportunity(
            protomap.win_from_request(request), auth.principal().user_id, self.uow()))

    def LoseOpportunity(self, request, context):
        return protomap.opportunity_to_proto(services.lose_opportunity(
            protomap.lose_from_request(request), auth.principal().user_id, self.uow()))

    def ReopenOpportunity(self, request, context):
        return protomap.opportunity_to_proto(services.reopen_opportunity(
            protomap.reopen_from_request(request), auth.principal().user_id, self.uow()))

    def ListStageHistory(self, request, context):
        history = services.list_stage_history(names.parse(request.name, "opportunities"), auth.principal().user_id,
                                              self.uow())
        return protomap.history_to_proto(history)

    def CreatePipeline(self, request, context):
        pipeline = services.create_pipeline(protomap.pipeline_definition_from_proto(request.pipeline),
                                            auth.principal().user_id, self.uow())
        return protomap.pipeline_to_proto(pipeline)

    def GetPipeline(self, request, context):
        pipeline = services.get_pipeline(names.parse(request.name, "pipelines"), request.version, self.uow())
        return protomap.pipeline_to_proto(pipeline)

    def ListPipelines(self, request, context):
        page = services.list_pipelines(request.page_size, request.page_token, self.uow())
        return protomap.pipelines_page_to_proto(page)

    # --- a deal's records ----------------------------------------------------------------------------

    def CompleteChecklistItem(self, request, context):
        return protomap.opportunity_to_proto(records.complete_checklist_item(
            protomap.parent_id(request.name, "name"), request.item, request.etag, _caller(), self.uow()))

    def ListChecklistCompletions(self, request, context):
        return protomap.completions_to_proto(records.list_checklist_completions(
            protomap.parent_id(request.name, "name"), _caller(), self.uow()))

    def AddDecisionChainContact(self, request, context):
        deal_id = protomap.parent_id(request.parent)
        return protomap.contact_to_proto(records.add_contact(
            deal_id, protomap.contact_from_proto(request.contact, deal_id), _caller(), self.uow()))

    def UpdateDecisionChainContact(self, request, context):
        deal_id, contact_id = protomap.child_ids(request.contact.name, "contacts", "contact.name")
        return protomap.contact_to_proto(records.update_contact(
            deal_id, contact_id, protomap.contact_changes(request.contact), tuple(request.update_mask.paths),
            _caller(), self.uow()))

    def RemoveDecisionChainContact(self, request, context):
        records.remove_contact(*protomap.child_ids(request.name, "contacts"), _caller(), self.uow())
        return empty_pb2.Empty()

    def ListDecisionChain(self, request, context):
        return protomap.chain_to_proto(records.list_contacts(protomap.parent_id(request.parent), _caller(),
                                                             self.uow()))

    def AddRequirement(self, request, context):
        deal_id = protomap.parent_id(request.parent)
        return protomap.requirement_to_proto(records.add_requirement(
            deal_id, protomap.requirement_from_proto(request.requirement, deal_id), _caller(), self.uow()))

    def UpdateRequirement(self, request, context):
        deal_id, requirement_id = protomap.child_ids(request.requirement.name, "requirements", "requirement.name")
        r = request.requirement
        return protomap.requirement_to_proto(records.update_requirement(
            deal_id, requirement_id, {"text": r.text, "priority": r.priority, "answer": r.answer},
            tuple(request.update_mask.paths), _caller(), self.uow()))

    def ListRequirements(self, request, context):
        return protomap.requirements_to_proto(records.list_requirements(
            protomap.parent_id(request.parent), _caller(), self.uow()))

    def AddDocumentVersion(self, request, context):
        return protomap.document_to_proto(records.add_document_version(
            protomap.document_from_request(request), _caller(), self.uow()))

    def ListDocuments(self, request, context):
        return protomap.documents_to_proto(records.list_documents(
            protomap.parent_id(request.parent), request.document, _caller(), self.uow()))

    def AddActivity(self, request, context):
        return protomap.activity_to_proto(records.add_activity(protomap.activity_from_request(request), _caller(),
                                                               self.uow()))

    def ListActivities(self, request, context):
        return protomap.activities_to_proto(records.list_activities(protomap.parent_id(request.parent), _caller(),
                                                                    self.uow()))

    def CreateTask(self, request, context):
        return protomap.task_to_proto(records.create_task(protomap.task_from_request(request), _caller(),
                                                          self.uow()))

    def CompleteTask(self, request, context):
        return protomap.task_to_proto(records.complete_task(*protomap.child_ids(request.name, "tasks"), _caller(),
                                                            self.uow()))

    def ReopenTask(self, request, context):
        return protomap.task_to_proto(records.reopen_task(*protomap.child_ids(request.name, "tasks"), _caller(),
                                                          self.uow()))

    def ListTasks(self, request, context):
        return protomap.tasks_to_proto(records.list_tasks(protomap.parent_id(request.parent), _caller(), self.uow()))

    def ListMyTasks(self, request, context):
        return protomap.tasks_to_proto(records.list_my_tasks(_caller(), self.uow()))

    def MigrateOpportunities(self, request, context):
        return protomap.migrated_to_proto(records.migrate_opportunities(
            protomap.migrate_from_request(request), _caller(), self.uow()))


def _caller() -> str:
    return auth.principal().user_id


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    opportunities_pb2_grpc.add_OpportunitiesServiceServicer_to_server(
        OpportunitiesApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.opportunities.v1.OpportunitiesService"]


if __name__ == "__main__":
    server.main("opportunities", register)
