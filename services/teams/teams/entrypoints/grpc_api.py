"""The teams gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

import grpc

from shangji.teams.v1 import teams_pb2_grpc
from shangji_kit import auth, names
from shangji_kit.rpc import server
from shangji_kit.settings import Settings
from teams import bootstrap
from teams.adapters import protomap
from teams.service_layer import opportunity_teams, services


class TeamsApi(teams_pb2_grpc.TeamsServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    # users

    def CreateUser(self, request, context):
        user = services.create_user(protomap.create_user(request), auth.principal(), self.uow())
        return protomap.user_to_proto(user)

    def GetUser(self, request, context):
        user_id = names.parse(request.name, "users")
        return protomap.user_to_proto(services.get_user(user_id, auth.principal(), self.uow()))

    def ListUsers(self, request, context):
        page = services.list_users(protomap.list_users(request), auth.principal(), self.uow())
        return protomap.users_page_to_proto(page.items, page.next_page_token)

    def UpdateUser(self, request, context):
        user = services.update_user(protomap.update_user(request), auth.principal(), self.uow())
        return protomap.user_to_proto(user)

    def DeactivateUser(self, request, context):
        user = services.deactivate_user(protomap.deactivate_user(request), auth.principal(), self.uow())
        return protomap.user_to_proto(user)

    def TransferOwnership(self, request, context):
        transfer_id = services.transfer_ownership(protomap.transfer_ownership(request), auth.principal(), self.uow())
        return protomap.transfer_to_proto(transfer_id)

    # departments

    def CreateDepartment(self, request, context):
        department = services.create_department(protomap.create_department(request), auth.principal(), self.uow())
        return protomap.department_to_proto(department)

    def GetDepartment(self, request, context):
        department_id = names.parse(request.name, "departments")
        return protomap.department_to_proto(services.get_department(department_id, self.uow()))

    def ListDepartments(self, request, context):
        page = services.list_departments(protomap.list_departments(request), self.uow())
        return protomap.departments_page_to_proto(page.items, page.next_page_token)

    def UpdateDepartment(self, request, context):
        department = services.update_department(protomap.update_department(request), auth.principal(), self.uow())
        return protomap.department_to_proto(department)

    def ListPlacementHistory(self, request, context):
        return protomap.placements_to_proto(services.list_placement_history(request.name, self.uow()))

    # opportunity teams

    def GetOpportunityTeam(self, request, context):
        view = opportunity_teams.get_opportunity_team(request.name, auth.principal(), self.uow())
        return protomap.team_to_proto(view.team, view.users)

    def AddOpportunityTeamMember(self, request, context):
        view = opportunity_teams.add_team_member(protomap.add_team_member(request), auth.principal(), self.uow())
        return protomap.team_to_proto(view.team, view.users)

    def RemoveOpportunityTeamMember(self, request, context):
        view = opportunity_teams.remove_team_member(protomap.remove_team_member(request), auth.principal(),
                                                    self.uow())
        return protomap.team_to_proto(view.team, view.users)

    def CreateTeamTemplate(self, request, context):
        template = opportunity_teams.create_team_template(protomap.create_team_template(request), auth.principal(),
                                                          self.uow())
        return protomap.template_to_proto(template)

    def ListTeamTemplates(self, request, context):
        page = opportunity_teams.list_team_templates(request.page_size, request.page_token, auth.principal(),
                                                     self.uow())
        return protomap.templates_page_to_proto(page.items, page.next_page_token)

    def ApplyTeamTemplate(self, request, context):
        view = opportunity_teams.apply_team_template(protomap.apply_team_template(request), auth.principal(),
                                                     self.uow())
        return protomap.team_to_proto(view.team, view.users)


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    teams_pb2_grpc.add_TeamsServiceServicer_to_server(TeamsApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.teams.v1.TeamsService"]


if __name__ == "__main__":
    server.main("teams", register)
