"""Opportunity teams: who works a deal beside its owner; read by who may see the deal, changed by who manages it."""

from __future__ import annotations

from dataclasses import dataclass

from shangji_kit import names
from shangji_kit.auth import Principal
from shangji_kit.clock import Clock, utc_now
from shangji_kit.errors import InvalidArgument, NotFound, PermissionDenied
from teams.domain import access, commands, model
from teams.domain import opportunity_teams as teams_model
from teams.service_layer.authorization import load_caller
from teams.service_layer.unit_of_work import TeamsUnitOfWork


@dataclass(frozen=True)
class TeamView:
    """A team as its reader sees it: with the members' directory entries (name, email, phone)."""

    team: teams_model.OpportunityTeam
    users: dict[str, model.User]


def _opportunity_id(team_name: str, field: str) -> str:
    """The opportunity id in "opportunities/{id}/team"."""
    suffix = "/team"
    if not team_name.endswith(suffix):
        raise InvalidArgument.field(field, f"must look like opportunities/{{id}}/team, got {team_name!r}")
    return names.parse(team_name[:-len(suffix)], "opportunities", field)


def _load_team(uow: TeamsUnitOfWork, opportunity_id: str, *, for_update: bool = False) \
        -> tuple[teams_model.OpportunityTeam, str | None]:
    """The team (NOT_FOUND when teams has not heard of the opportunity) and its owner's department path."""
    team = uow.opportunity_teams.get(opportunity_id, for_update=for_update)
    if team is None:
        raise NotFound(f"opportunities/{opportunity_id}/team")
    owner = uow.users.get(team.owner_id)
    return team, uow.departments.path_of(owner.department_id) if owner else None


def _require_manager(caller: access.Caller, team: teams_model.OpportunityTeam, owner_path: str | None) -> None:
    if not access.may_manage_team(caller, team.owner_id, owner_path):
        raise PermissionDenied(f"only the owner of {team.opportunity}, a head above them or an admin may change "
                               "its team", reason="NOT_TEAM_MANAGER", metadata={"team": team.name})


def _view(uow: TeamsUnitOfWork, team: teams_model.OpportunityTeam, known: dict[str, model.User]) -> TeamView:
    missing = team.member_ids - known.keys()
    return TeamView(team, {**known, **uow.users.get_many(missing)})


def get_opportunity_team(name: str, principal: Principal, uow: TeamsUnitOfWork) -> TeamView:
    opportunity_id = _opportunity_id(name, "name")
    with uow:
        caller = load_caller(principal, uow)
        team, owner_path = _load_team(uow, opportunity_id)
        # Who may not see the team gets the answer a missing one gets.
        if not access.may_see_team(caller, team.owner_id, owner_path, team.member_ids):
            raise NotFound(team.name)
        return _view(uow, team, {})


def add_team_member(cmd: commands.AddTeamMember, principal: Principal, uow: TeamsUnitOfWork,
                    clock: Clock = utc_now) -> TeamView:
    now = clock()
    opportunity_id = _opportunity_id(cmd.team, "team")
    with uow:
        caller = load_caller(principal, uow)
        team, owner_path = _load_team(uow, opportunity_id, for_update=True)
        _require_manager(caller, team, owner_path)
        checked, violations = teams_model.check_member_inputs([cmd.member], ["member"])
        member = checked[0]
        users = uow.users.get_many([member.user_id]) if member else {}
        model.raise_if(violations + teams_model.check_member_users(checked, ["member"], users))
        added = team.add(users[member.user_id], member.role, member.can_edit, by=caller.user_id, now=now)
        uow.opportunity_teams.add_member(opportunity_id, added)
        uow.publish(team.events)
        view = _view(uow, team, users)
        uow.commit()
        return view


def remove_team_member(cmd: commands.RemoveTeamMember, principal: Principal, uow: TeamsUnitOfWork) -> TeamView:
    opportunity_id = _opportunity_id(cmd.team, "team")
    user_id = names.parse(cmd.user, "users", "user")
    with uow:
        caller = load_caller(principal, uow)
        team, owner_path = _load_team(uow, opportunity_id, for_update=True)
        leaving = caller.user_id == user_id and user_id in team.member_ids  # a member may leave on their own
        if not leaving:
            _require_manager(caller, team, owner_path)
        team.remove(user_id, by=caller.user_id)
        uow.opportunity_teams.remove_member(opportunity_id, user_id)
        uow.publish(team.events)
        view = _view(uow, team, {})
        uow.commit()
        return view


def apply_team_template(cmd: commands.ApplyTeamTemplate, principal: Principal, uow: TeamsUnitOfWork,
                        clock: Clock = utc_now) -> TeamView:
    """Add every member of one of the caller's templates not on the team yet: one event each, one transaction."""
    now = clock()
    opportunity_id = _opportunity_id(cmd.team, "team")
    template_id = names.parse(cmd.template, "teamTemplates", "template")
    with uow:
        caller = load_caller(principal, uow)
        team, owner_path = _load_team(uow, opportunity_id, for_update=True)
        _require_manager(caller, team, owner_path)
        template = uow.templates.get(template_id)
        if template is None or template.owner_id != caller.user_id:  # someone else's: as if missing
            raise NotFound(f"teamTemplates/{template_id}")
        users = uow.users.get_many({m.user_id for m in template.members} | team.member_ids)
        for member in team.apply(template, users, by=caller.user_id, now=now):
            uow.opportunity_teams.add_member(opportunity_id, member)
        uow.publish(team.events)
        view = _view(uow, team, users)
        uow.commit()
        return view
