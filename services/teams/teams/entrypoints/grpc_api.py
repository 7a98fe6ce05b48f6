"""The teams gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

import grpc

from shangji.teams.v1 import teams_pb2_grpc
from shangji_kit import names
from shangji_kit.rpc import server
from shangji_kit.settings import Settings
from teams import bootstrap
from teams.adapters import protomap
from teams.service_layer import services


class TeamsApi(teams_pb2_grpc.TeamsServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def CreateUser(self, request, context):
        u = request.user
        cmd = services.CreateUser(display_name=u.display_name, email=u.email, phone=u.phone,
                                  department=u.department, request_id=request.request_id)
        return protomap.user_to_proto(services.create_user(cmd, self.uow()))

    def GetUser(self, request, context):
        user_id = names.parse(request.name, "users")
        return protomap.user_to_proto(services.get_user(user_id, self.uow()))


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    teams_pb2_grpc.add_TeamsServiceServicer_to_server(TeamsApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.teams.v1.TeamsService"]


if __name__ == "__main__":
    server.main("teams", register)
