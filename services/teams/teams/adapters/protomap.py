"""The one module that converts between teams' protos (and the events it consumes) and its domain."""

from __future__ import annotations

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from shangji.opportunities.v1.events_pb2 import OpportunityRegistered
from shangji.teams.v1 import events_pb2, teams_pb2
from shangji_kit import names
from shangji_kit.envelope import Envelope
from teams.domain import commands, model
from teams.domain import opportunity_teams as teams_model


def _ts(value) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def _name(collection: str, id: str | None) -> str:
    return names.format(collection, id) if id else ""


# --- requests in ----------------------------------------------------------------------------------

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


# --- resources out --------------------------------------------------------------------------------

def user_to_proto(user: model.User) -> teams_pb2.User:
    return teams_pb2.User(
        name=user.name, id=user.id, display_name=user.display_name, email=user.email, phone=user.phone,
        department=_name("departments", user.department_id), active=user.active, create_time=_ts(user.create_time),
        update_time=_ts(user.update_time), etag=user.etag, manager=_name("users", user.manager_id),
        roles=user.roles, function_tags=user.function_tags, territories=user.territories, expertise=user.expertise,
        capacity=user.capacity)


def users_page_to_proto(items: list[model.User], next_page_token: str) -> teams_pb2.ListUsersResponse:
    return teams_pb2.ListUsersResponse(users=[user_to_proto(u) for u in items], next_page_token=next_page_token)


def transfer_to_proto(transfer_id: str) -> teams_pb2.TransferOwnershipResponse:
    return teams_pb2.TransferOwnershipResponse(transfer_id=transfer_id)


def department_to_proto(d: model.Department) -> teams_pb2.Department:
    return teams_pb2.Department(
        name=d.name, id=d.id, display_name=d.display_name, parent=_name("departments", d.parent_id),
        head=_name("users", d.head_id), path=d.path, create_time=_ts(d.create_time), update_time=_ts(d.update_time),
        etag=d.etag)


def departments_page_to_proto(items: list[model.Department], next_page_token: str) \
        -> teams_pb2.ListDepartmentsResponse:
    return teams_pb2.ListDepartmentsResponse(departments=[department_to_proto(d) for d in items],
                                             next_page_token=next_page_token)


def placements_to_proto(placements: list[model.Placement]) -> teams_pb2.ListPlacementHistoryResponse:
    out = teams_pb2.ListPlacementHistoryResponse()
    for p in placements:
        item = out.placements.add(placed_under=_name("departments", p.placed_under), start_time=_ts(p.start_time),
                                  changed_by=_name("users", p.changed_by))
        if p.end_time is not None:
            item.end_time.CopyFrom(_ts(p.end_time))
    return out


def member_to_proto(member: teams_model.TeamMember, user: model.User | None = None) \
        -> teams_pb2.OpportunityTeamMember:
    message = teams_pb2.OpportunityTeamMember(user=names.format("users", member.user_id), role=member.role,
                                              can_edit=member.can_edit, add_time=_ts(member.add_time))
    if user is not None:  # the contact directory
        message.display_name, message.email, message.phone = user.display_name, user.email, user.phone
    return message


def team_to_proto(team: teams_model.OpportunityTeam, users: dict[str, model.User]) -> teams_pb2.OpportunityTeam:
    return teams_pb2.OpportunityTeam(name=team.name, owner=names.format("users", team.owner_id),
                                     members=[member_to_proto(m, users.get(m.user_id)) for m in team.members])


def template_to_proto(t: teams_model.TeamTemplate) -> teams_pb2.TeamTemplate:
    return teams_pb2.TeamTemplate(
        name=t.name, display_name=t.display_name, for_role=t.for_role, owner=names.format("users", t.owner_id),
        members=[teams_pb2.OpportunityTeamMember(user=names.format("users", m.user_id), role=m.role,
                                                 can_edit=m.can_edit) for m in t.members])


def templates_page_to_proto(items: list[teams_model.TeamTemplate], next_page_token: str) \
        -> teams_pb2.ListTeamTemplatesResponse:
    return teams_pb2.ListTeamTemplatesResponse(templates=[template_to_proto(t) for t in items],
                                               next_page_token=next_page_token)


# --- events out -----------------------------------------------------------------------------------

def event_to_proto(event: object) -> tuple[Message, str]:
    """A domain event as (proto message, subject resource name) for the outbox."""
    if isinstance(event, model.UserCreated):
        return events_pb2.UserCreated(user=user_to_proto(event.user)), event.user.name
    if isinstance(event, model.UserUpdated):
        return (events_pb2.UserUpdated(user=user_to_proto(event.user), changed_fields=event.changed_fields),
                event.user.name)
    if isinstance(event, model.UserDeactivated):
        return (events_pb2.UserDeactivated(user=user_to_proto(event.user),
                                           successor=names.format("users", event.successor_id)), event.user.name)
    if isinstance(event, model.OwnershipTransferred):
        from_user = names.format("users", event.from_user_id)
        return events_pb2.OwnershipTransferred(
            transfer_id=event.transfer_id, from_user=from_user, to_user=names.format("users", event.to_user_id),
            requested_by=names.format("users", event.requested_by), transfer_time=_ts(event.transfer_time)), from_user
    if isinstance(event, model.DepartmentChanged):
        return events_pb2.DepartmentChanged(department=department_to_proto(event.department)), event.department.name
    if isinstance(event, teams_model.TeamMemberAdded):
        opportunity = names.format("opportunities", event.opportunity_id)
        member = member_to_proto(event.member)
        member.display_name = event.display_name
        return events_pb2.OpportunityTeamMemberAdded(
            opportunity=opportunity, member=member,
            added_by=names.format("users", event.member.added_by)), f"{opportunity}/team"
    if isinstance(event, teams_model.TeamMemberRemoved):
        opportunity = names.format("opportunities", event.opportunity_id)
        return events_pb2.OpportunityTeamMemberRemoved(
            opportunity=opportunity, user=names.format("users", event.user_id),
            removed_by=names.format("users", event.removed_by)), f"{opportunity}/team"
    raise TypeError(f"no proto for event {type(event).__name__}")
