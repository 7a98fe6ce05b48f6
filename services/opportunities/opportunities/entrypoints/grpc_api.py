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


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    opportunities_pb2_grpc.add_OpportunitiesServiceServicer_to_server(
        OpportunitiesApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.opportunities.v1.OpportunitiesService"]


if __name__ == "__main__":
    server.main("opportunities", register)
