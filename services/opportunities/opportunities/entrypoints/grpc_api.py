"""The opportunities gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

import grpc

from opportunities import bootstrap
from opportunities.adapters import protomap
from opportunities.service_layer import services
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


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    opportunities_pb2_grpc.add_OpportunitiesServiceServicer_to_server(
        OpportunitiesApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.opportunities.v1.OpportunitiesService"]


if __name__ == "__main__":
    server.main("opportunities", register)
