"""Who is calling: the token's subject, resolved against teams' own rows (roles, departments headed)."""

from __future__ import annotations

from shangji_kit import caller
from shangji_kit.auth import Principal
from teams.domain import access
from teams.service_layer.unit_of_work import TeamsUnitOfWork


def load_caller(principal: Principal, uow: TeamsUnitOfWork) -> access.Caller:
    """The caller's roles and headed departments, read in the unit of work's transaction. A subject that is no
    user id is kept as it is: the bootstrap admin's token may name no user (``teams.domain.access``)."""
    user_id = caller.as_user_id(principal.user_id)
    user = uow.users.get(user_id) if user_id else None
    headed = uow.departments.headed_paths(user_id) if user is not None and user.active else ()
    return access.caller_of(user_id or principal.user_id, principal.roles, user, headed)
