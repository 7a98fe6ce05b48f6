"""Who may do what in teams. Plain rules over facts the use cases look up; no I/O.

A caller's roles are the roles of their own user row (the token's ``sub``), not the token's claims,
with one exception for bootstrapping: a token whose ``roles`` claim holds "admin" is an admin, so
the first admin can be created (``python -m shangji_kit.admin token <id> --role admin``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

from shangji_kit.errors import PermissionDenied
from teams.domain.model import User

ADMIN = "admin"
# Roles that see every record (and every contact).
GLOBAL_ROLES = frozenset({"sales_ops", ADMIN})


@dataclass(frozen=True)
class Caller:
    """The caller of a request, resolved once from teams' own rows."""

    user_id: str
    roles: frozenset[str] = frozenset()
    # Paths of the departments the caller heads (an inactive user heads nothing).
    headed_paths: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"users/{self.user_id}"

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def sees_everything(self) -> bool:
        return bool(self.roles & GLOBAL_ROLES)

    def heads_above(self, department_path: str | None) -> bool:
        """Whether the caller heads the department at ``department_path`` or one above it."""
        return bool(department_path) and any(department_path.startswith(p) for p in self.headed_paths)


def caller_of(user_id: str, token_roles: Iterable[str], user: User | None, headed_paths: Iterable[str]) -> Caller:
    """The caller from their user row (None when the token's subject is no user) and the token's roles."""
    active = user is not None and user.active
    roles = set(user.roles) if active else set()
    if ADMIN in token_roles:  # the bootstrap path: see the module docstring
        roles.add(ADMIN)
    return Caller(user_id=user_id, roles=frozenset(roles), headed_paths=tuple(headed_paths) if active else ())


def require_admin(caller: Caller, action: str) -> None:
    if not caller.is_admin:
        raise PermissionDenied(f"only an admin may {action}", reason="ADMIN_REQUIRED",
                               metadata={"caller": caller.name})


def may_transfer(caller: Caller, from_department_path: str | None) -> bool:
    """Admins, and heads of a department at or above the department of the user whose records move."""
    return caller.is_admin or caller.heads_above(from_department_path)


def may_manage_team(caller: Caller, owner_id: str, owner_department_path: str | None) -> bool:
    """Who may change an opportunity's team: its owner, a head at or above the owner's department, an admin."""
    return caller.is_admin or caller.user_id == owner_id or caller.heads_above(owner_department_path)


def may_see_team(caller: Caller, owner_id: str, owner_department_path: str | None,
                 member_ids: Collection[str]) -> bool:
    """Who may see an opportunity's team: those who may manage it, its members, sales ops."""
    return (may_manage_team(caller, owner_id, owner_department_path) or caller.sees_everything
            or caller.user_id in member_ids)


def sees_contact(caller: Caller, user_id: str, shares_a_team: bool) -> bool:
    """The contact directory: a user's email and phone are shown to themself, to admins and sales ops,
    and to those who share an opportunity team with them (as owner or member)."""
    return user_id == caller.user_id or caller.sees_everything or shares_a_team


def as_seen_by(caller: Caller, user: User, shares_a_team: bool) -> User:
    """The user as ``caller`` may read them: email and phone blanked outside the contact directory."""
    if sees_contact(caller, user.id, shares_a_team):
        return user
    return replace(user, email="", phone="", events=[])
