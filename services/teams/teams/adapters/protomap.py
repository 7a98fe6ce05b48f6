"""Teams' domain as protos, outbound: the records the API answers with and the events the outbox publishes
(``event_to_proto``, the encoder bootstrap gives the unit of work). Inbound mapping is
``teams.entrypoints.inbound``."""

from __future__ import annotations

from google.protobuf.message import Message

from shangji.teams.v1 import events_pb2, teams_pb2
from shangji_kit import names
from shangji_kit.timestamps import from_datetime as _ts
from teams.domain import model
from teams.domain import opportunity_teams as teams_model


def _name(collection: str, id: str | None) -> str:
    return names.format(collection, id) if id else ""


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
