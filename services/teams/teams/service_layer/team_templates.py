"""Team templates: a user's own list of the people they usually put on a deal's team."""

from __future__ import annotations

import uuid

from shangji_kit import caller, paging
from shangji_kit.auth import Principal
from shangji_kit.clock import Clock, utc_now
from shangji_kit.errors import FieldViolation
from teams.domain import commands, model
from teams.domain import opportunity_teams as teams_model
from teams.service_layer.unit_of_work import TeamsUnitOfWork


def create_team_template(cmd: commands.CreateTeamTemplate, principal: Principal, uow: TeamsUnitOfWork,
                         clock: Clock = utc_now) -> teams_model.TeamTemplate:
    owner_id = caller.user_id(principal.user_id)
    now = clock()
    display_name, for_role, violations = teams_model.check_template_input(cmd.display_name, cmd.for_role)
    prefixes = [f"template.members[{i}]" for i in range(len(cmd.members))]
    checked, more = teams_model.check_member_inputs(cmd.members, prefixes)
    violations += more
    if not cmd.members:
        violations.append(FieldViolation("template.members", "at least one member is required"))
    with uow:
        users = uow.users.get_many(m.user_id for m in checked if m)
        model.raise_if(violations + teams_model.check_member_users(checked, prefixes, users))
        template = teams_model.new_template(id=str(uuid.uuid4()), owner_id=owner_id, display_name=display_name,
                                            for_role=for_role, members=checked, users=users, now=now)
        uow.templates.add(template)
        uow.commit()
        return template


def list_team_templates(page_size: int, page_token: str, principal: Principal, uow: TeamsUnitOfWork) -> paging.Page:
    """The caller's own templates, oldest first."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    owner_id = caller.user_id(principal.user_id)
    with uow:
        rows = uow.templates.list_owned(owner_id, limit + 1, after)
    return paging.keyset_page(rows, limit)
