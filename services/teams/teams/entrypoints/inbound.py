"""Protos in, commands out: what the teams front and worker read from requests and consumed events."""

from __future__ import annotations

from shangji.opportunities.v1.events_pb2 import OpportunityRegistered
from shangji.teams.v1 import teams_pb2
from shangji_kit import names
from shangji_kit.envelope import Envelope
from teams.domain import commands


def user_input(u: teams_pb2.User) -> commands.UserInput:
    return commands.UserInput(
        display_name=u.display_name, email=u.email, phone=u.phone, department=u.department, manager=u.manager,
        roles=tuple(u.roles), function_tags=tuple(u.function_tags), territories=tuple(u.territories),
        expertise=tuple(u.expertise), capacity=u.capacity)


def create_user(request: teams_pb2.CreateUserRequest) -> commands.CreateUser:
    return commands.CreateUser(user=user_input(request.user), request_id=request.request_id)


def update_user(request: teams_pb2.UpdateUserRequest) -> commands.UpdateUser:
    return commands.UpdateUser(name=request.user.name, user=user_input(request.user),
                               paths=tuple(request.update_mask.paths), etag=request.etag or request.user.etag)


def deactivate_user(request: teams_pb2.DeactivateUserRequest) -> commands.DeactivateUser:
    return commands.DeactivateUser(name=request.name, successor=request.successor, etag=request.etag)


def transfer_ownership(request: teams_pb2.TransferOwnershipRequest) -> commands.TransferOwnership:
    return commands.TransferOwnership(from_user=request.from_user, to_user=request.to_user)


def list_users(request: teams_pb2.ListUsersRequest) -> commands.ListUsers:
    return commands.ListUsers(page_size=request.page_size, page_token=request.page_token,
                              department=request.department, role=request.role, territory=request.territory,
                              expertise=request.expertise, include_inactive=request.include_inactive)


def department_input(d: teams_pb2.Department) -> commands.DepartmentInput:
    return commands.DepartmentInput(display_name=d.display_name, parent=d.parent, head=d.head)


def create_department(request: teams_pb2.CreateDepartmentRequest) -> commands.CreateDepartment:
    return commands.CreateDepartment(department=department_input(request.department), request_id=request.request_id)


def update_department(request: teams_pb2.UpdateDepartmentRequest) -> commands.UpdateDepartment:
    return commands.UpdateDepartment(name=request.department.name, department=department_input(request.department),
                                     paths=tuple(request.update_mask.paths),
                                     etag=request.etag or request.department.etag)


def list_departments(request: teams_pb2.ListDepartmentsRequest) -> commands.ListDepartments:
    return commands.ListDepartments(page_size=request.page_size, page_token=request.page_token,
                                    parent=request.parent)


def member_input(m: teams_pb2.OpportunityTeamMember) -> commands.MemberInput:
    return commands.MemberInput(user=m.user, role=m.role, can_edit=m.can_edit)


def add_team_member(request: teams_pb2.AddOpportunityTeamMemberRequest) -> commands.AddTeamMember:
    return commands.AddTeamMember(team=request.team, member=member_input(request.member))


def remove_team_member(request: teams_pb2.RemoveOpportunityTeamMemberRequest) -> commands.RemoveTeamMember:
    return commands.RemoveTeamMember(team=request.team, user=request.user)


def create_team_template(request: teams_pb2.CreateTeamTemplateRequest) -> commands.CreateTeamTemplate:
    t = request.template
    return commands.CreateTeamTemplate(display_name=t.display_name, for_role=t.for_role,
                                       members=tuple(member_input(m) for m in t.members))


def apply_team_template(request: teams_pb2.ApplyTeamTemplateRequest) -> commands.ApplyTeamTemplate:
    return commands.ApplyTeamTemplate(team=request.team, template=request.template)


def opportunity_owner_from_event(env: Envelope) -> commands.RecordOpportunityOwner:
    """Who owns a registered opportunity; INVALID_ARGUMENT (dead-lettered) when the event is malformed."""
    opportunity = env.payload(OpportunityRegistered).opportunity
    return commands.RecordOpportunityOwner(
        opportunity_id=names.parse(opportunity.name, "opportunities", "opportunity.name"),
        owner_id=names.parse(opportunity.owner, "users", "opportunity.owner"))
