"""Who is calling: the token's subject, resolved against teams' own rows (roles, departments headed)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from shangji_kit.auth import Principal
from shangji_kit.errors import Unauthenticated
from teams.domain import access

if TYPE_CHECKING:
    from teams.service_layer.unit_of_work import TeamsUnitOfWork


def as_user_id(subject: str) -> str | None:
    """A token's subject as a user id; None when it is not a UUID (such a caller is no user)."""
    try:
        return str(uuid.UUID(subject))
    except (ValueError, TypeError):
        return None


def user_id_of(principal: Principal) -> str | None:
    return as_user_id(principal.user_id)


def require_user_id(principal: Principal) -> str:
    user_id = user_id_of(principal)
    if user_id is None:
        raise Unauthenticated("the token's subject is not a user id", reason="INVALID_SUBJECT")
    return user_id


def load_caller(principal: Principal, uow: TeamsUnitOfWork) -> access.Caller:
    """The caller's roles and headed departments, read in the unit of work's transaction."""
    user_id = user_id_of(principal)
    user = uow.users.get(user_id) if user_id else None
    headed = uow.departments.headed_paths(user_id) if user is not None and user.active else ()
    return access.caller_of(user_id or principal.user_id, principal.roles, user, headed)
