"""The teams gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

import grpc

from shangji.teams.v1 import teams_pb2_grpc
from shangji_kit import auth, names
from shangji_kit.rpc import server
from shangji_kit.settings import Settings
from teams import bootstrap
from teams.adapters import protomap
from teams.entrypoints import inbound
from teams.service_layer import departments, opportunity_teams, team_templates, users


class TeamsApi(teams_pb2_grpc.TeamsServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    # users

    def CreateUser(self, request, context):
        user = users.create_user(inbound.create_user(request), auth.principal(), self.uow())
        return protomap.user_to_proto(user)

    def GetUser(self, request, context):
        user_id = names.parse(request.name, "users")
        return protomap.user_to_proto(users.get_user(user_id, auth.principal(), self.uow()))

    def ListUsers(self, request, context):
        page = users.list_users(inbound.list_users(request), auth.principal(), self.uow())
        return protomap.users_page_to_proto(page.items, page.next_page_token)

    def UpdateUser(self, request, context):
        user = users.update_user(inbound.update_user(request), auth.principal(), self.uow())
        return protomap.user_to_proto(user)

    def DeactivateUser(self, request, context):
        user = users.deactivate_user(inbound.deactivate_user(request), auth.principal(), self.uow())
        return protomap.user_to_proto(user)

    def TransferOwnership(self, request, context):
        transfer_id = users.transfer_ownership(inbound.transfer_ownership(request), auth.principal(), self.uow())
        return protomap.transfer_to_proto(transfer_id)

    # departments

    def CreateDepartment(self, request, context):
        department = departments.create_department(inbound.create_department(request), auth.principal(), self.uow())
        return protomap.department_to_proto(department)

    def GetDepartment(self, request, context):
        department_id = names.parse(request.name, "departments")
        return protomap.department_to_proto(departments.get_department(department_id, self.uow()))

    def ListDepartments(self, request, context):
        page = departments.list_departments(inbound.list_departments(request), self.uow())
        return protomap.departments_page_to_proto(page.items, page.next_page_token)

    def UpdateDepartment(self, request, context):
        department = departments.update_department(inbound.update_department(request), auth.principal(), self.uow())
        return protomap.department_to_proto(department)

    def ListPlacementHistory(self, request, context):
        return protomap.placements_to_proto(departments.list_placement_history(request.name, self.uow()))

    # opportunity teams

    def GetOpportunityTeam(self, request, context):
        view = opportunity_teams.get_opportunity_team(request.name, auth.principal(), self.uow())
        return protomap.team_to_proto(view.team, view.users)

    def AddOpportunityTeamMember(self, request, context):
        view = opportunity_teams.add_team_member(inbound.add_team_member(request), auth.principal(), self.uow())
        return protomap.team_to_proto(view.team, view.users)

    def RemoveOpportunityTeamMember(self, request, context):
        view = opportunity_teams.remove_team_member(inbound.remove_team_member(request), auth.principal(),
                                                    self.uow())
        return protomap.team_to_proto(view.team, view.users)

    def CreateTeamTemplate(self, request, context):
        template = team_templates.create_team_template(inbound.create_team_template(request), auth.principal(),
                                                          self.uow())
        return protomap.template_to_proto(template)

    def ListTeamTemplates(self, request, context):
        page = team_templates.list_team_templates(request.page_size, request.page_token, auth.principal(),
                                                     self.uow())
        return protomap.templates_page_to_proto(page.items, page.next_page_token)

    def ApplyTeamTemplate(self, request, context):
        view = opportunity_teams.apply_team_template(inbound.apply_team_template(request), auth.principal(),
                                                     self.uow())
        return protomap.team_to_proto(view.team, view.users)


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    teams_pb2_grpc.add_TeamsServiceServicer_to_server(TeamsApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.teams.v1.TeamsService"]


if __name__ == "__main__":
    server.main("teams", register)
