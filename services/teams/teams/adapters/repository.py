"""Users, departments, placements, opportunity teams and team templates in PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa

from shangji_kit.errors import Aborted, AlreadyExists
from shangji_kit.statements import insert_or_skip
from teams.adapters.orm import departments, opportunity_owners, placements, team_members, team_templates, users
from teams.domain.model import Department, Placement, User
from teams.domain.opportunity_teams import OpportunityTeam, TeamMember, TeamTemplate, TemplateMember
from teams.domain.queries import UserFilter

Keyset = tuple[datetime, str] | None


def _after(table: sa.Table, after: Keyset) -> sa.ColumnElement[bool]:
    """Rows after the last one seen, in (create_time, id) order."""
    time, last_id = after
    return sa.or_(table.c.create_time > time, sa.and_(table.c.create_time == time, table.c.id > last_id))


def _page(stmt: sa.Select, table: sa.Table, limit: int, after: Keyset) -> sa.Select:
    if after is not None:
        stmt = stmt.where(_after(table, after))
    return stmt.order_by(table.c.create_time, table.c.id).limit(limit)


# --- users --------------------------------------------------------------------------------------

_USER_COLUMNS = ("id", "display_name", "email", "phone", "department_id", "manager_id", "roles", "function_tags",
                 "territories", "expertise", "capacity", "active", "version", "create_time", "update_time")
_ARRAYS = ("roles", "function_tags", "territories", "expertise")
_USER_INSERT = insert_or_skip(users, list(_USER_COLUMNS), returning="id")


def _to_user(row) -> User:
    values = {c: getattr(row, c) for c in _USER_COLUMNS}
    for c in _ARRAYS:
        values[c] = tuple(values[c] or ())
    return User(**values)


def _user_values(user: User) -> dict:
    values = {c: getattr(user, c) for c in _USER_COLUMNS}
    for c in _ARRAYS:
        values[c] = list(values[c])
    return values


class UserRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, user: User) -> User | None:
        """Insert; None when the email is already taken (nothing written)."""
        return user if self.session.execute(_USER_INSERT, _user_values(user)).first() else None

    def get(self, user_id: str, *, for_update: bool = False) -> User | None:
        stmt = sa.select(users).where(users.c.id == user_id)
        row = self.session.execute(stmt.with_for_update(key_share=True) if for_update else stmt).first()
        return _to_user(row) if row else None

    def get_many(self, user_ids: Iterable[str], *, for_update: bool = False) -> dict[str, User]:
        """By id; ``for_update`` locks them in id order (so two callers locking the same users cannot deadlock)."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        stmt = sa.select(users).where(users.c.id.in_(ids)).order_by(users.c.id)
        rows = self.session.execute(stmt.with_for_update(key_share=True) if for_update else stmt)
        return {u.id: u for u in map(_to_user, rows)}

    def update(self, user: User, expected_version: int) -> None:
        """Write the user if nobody else did since it was read at ``expected_version``; ABORTED otherwise."""
        values = {k: v for k, v in _user_values(user).items() if k not in ("id", "create_time")}
        stmt = sa.update(users).where(users.c.id == user.id, users.c.version == expected_version).values(**values)
        try:
            count = self.session.execute(stmt).rowcount
        except sa.exc.IntegrityError as exc:  # the transaction is lost either way; the unit of work rolls back
            if "users_email" not in str(exc.orig):
                raise
            raise AlreadyExists(f"a user with email {user.email} exists", reason="EMAIL_TAKEN",
                                metadata={"email": user.email}) from None
        if count == 0:
            raise Aborted(f"{user.name} was changed concurrently; re-read it and retry",
                          metadata={"resource": user.name})

    def list(self, where: UserFilter, limit: int, after: Keyset) -> list[User]:
        """Oldest first, in (create_time, id) order; ``after`` is the last row seen."""
        stmt = sa.select(users)
        if not where.include_inactive:
            stmt = stmt.where(users.c.active)
        if where.department_path is not None:
            below = sa.select(departments.c.id).where(departments.c.path.startswith(where.department_path,
                                                                                     autoescape=True))
            stmt = stmt.where(users.c.department_id.in_(below))
        for column, value in ((users.c.roles, where.role), (users.c.territories, where.territory),
                              (users.c.expertise, where.expertise)):
            if value:
                stmt = stmt.where(column.contains([value]))
        return [_to_user(row) for row in self.session.execute(_page(stmt, users, limit, after))]

    def manager_chain(self, manager_id: str, limit: int = 100) -> list[str]:
        """``manager_id`` and the managers above them, upwards (bounded, so a bad chain cannot loop)."""
        chain = sa.text("""
            WITH RECURSIVE chain(id, manager_id, depth) AS (
                SELECT id, manager_id, 1 FROM users WHERE id = CAST(:start AS uuid)
                UNION ALL
                SELECT u.id, u.manager_id, c.depth + 1 FROM users u JOIN chain c ON u.id = c.manager_id
                WHERE c.depth < :limit)
            SELECT id::text FROM chain ORDER BY depth""")
        return [r[0] for r in self.session.execute(chain, {"start": manager_id, "limit": limit})]

    def team_mates(self, user_id: str, candidates: Iterable[str]) -> set[str]:
        """Those of ``candidates`` who share an opportunity team (as owner or member) with ``user_id``."""
        ids = sorted(set(candidates) - {user_id})
        if not ids:
            return set()
        mine = sa.union(
            sa.select(team_members.c.opportunity_id).where(team_members.c.user_id == user_id),
            sa.select(opportunity_owners.c.opportunity_id).where(opportunity_owners.c.owner_id == user_id),
        ).subquery()
        mates = sa.union(
            sa.select(team_members.c.user_id.label("id")).where(team_members.c.opportunity_id.in_(sa.select(mine))),
            sa.select(opportunity_owners.c.owner_id.label("id")).where(
                opportunity_owners.c.opportunity_id.in_(sa.select(mine))),
        ).subquery()
        stmt = sa.select(mates.c.id).where(mates.c.id.in_(ids))
        return {str(r[0]) for r in self.session.execute(stmt)}


# --- departments --------------------------------------------------------------------------------

_DEPARTMENT_COLUMNS = ("id", "display_name", "parent_id", "head_id", "path", "version", "create_time",
                       "update_time")
# Moves and creations under a parent change paths; one lock orders them, so neither reads a path the other
# is rewriting (a child created under a department being moved, two moves making a cycle together).
_TREE_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext('teams.department_tree'))")


def _to_department(row) -> Department:
    return Department(**{c: getattr(row, c) for c in _DEPARTMENT_COLUMNS})


class DepartmentRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def lock_tree(self) -> None:
        """Hold the department tree's structure still until the transaction ends."""
        self.session.execute(_TREE_LOCK)

    def add(self, department: Department) -> None:
        self.session.execute(sa.insert(departments).values({c: getattr(department, c) for c in _DEPARTMENT_COLUMNS}))

    def get(self, department_id: str, *, for_update: bool = False) -> Department | None:
        stmt = sa.select(departments).where(departments.c.id == department_id)
        row = self.session.execute(stmt.with_for_update(key_share=True) if for_update else stmt).first()
        return _to_department(row) if row else None

    def descendants(self, department: Department, *, for_update: bool = False) -> list[Department]:
        """Every department below ``department``, top down."""
        stmt = (sa.select(departments)
                .where(departments.c.path.startswith(department.path, autoescape=True),
                       departments.c.id != department.id)
                .order_by(departments.c.path))
        if for_update:
            stmt = stmt.with_for_update(key_share=True)
        return [_to_department(r) for r in self.session.execute(stmt)]

    def update(self, changed: Sequence[tuple[Department, int]]) -> None:
        """Write each (department, version it was read at); ABORTED when any was changed since."""
        for department, expected_version in changed:
            values = {c: getattr(department, c) for c in _DEPARTMENT_COLUMNS if c not in ("id", "create_time")}
            stmt = (sa.update(departments)
                    .where(departments.c.id == department.id, departments.c.version == expected_version)
                    .values(**values))
            if self.session.execute(stmt).rowcount == 0:
                raise Aborted(f"{department.name} was changed concurrently; re-read it and retry",
                              metadata={"resource": department.name})

    def list(self, parent_id: str | None, limit: int, after: Keyset) -> list[Department]:
        """Oldest first; with ``parent_id`` only its direct children."""
        stmt = sa.select(departments)
        if parent_id is not None:
            stmt = stmt.where(departments.c.parent_id == parent_id)
        return [_to_department(r) for r in self.session.execute(_page(stmt, departments, limit, after))]

    def headed_paths(self, user_id: str) -> list[str]:
        stmt = sa.select(departments.c.path).where(departments.c.head_id == user_id)
        return [r.path for r in self.session.execute(stmt)]

    def path_of(self, department_id: str | None) -> str | None:
        if department_id is None:
            return None
        return self.session.execute(sa.select(departments.c.path).where(departments.c.id == department_id)).scalar()


# --- placements ---------------------------------------------------------------------------------

class PlacementRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def place(self, subject_kind: str, subject_id: str, placed_under: str | None, *, now: datetime,
              changed_by: str) -> None:
        """End the subject's current placement (if any) and start a new one."""
        self.session.execute(
            sa.update(placements)
            .where(placements.c.subject_kind == subject_kind, placements.c.subject_id == subject_id,
                   placements.c.end_time.is_(None))
            .values(end_time=now))
        self.session.execute(sa.insert(placements).values(
            subject_kind=subject_kind, subject_id=subject_id, placed_under=placed_under, start_time=now,
            changed_by=changed_by))

    def history(self, subject_kind: str, subject_id: str) -> list[Placement]:
        stmt = (sa.select(placements)
                .where(placements.c.subject_kind == subject_kind, placements.c.subject_id == subject_id)
                .order_by(placements.c.start_time, placements.c.id))
        return [Placement(subject_kind=r.subject_kind, subject_id=r.subject_id, placed_under=r.placed_under,
                          start_time=r.start_time, end_time=r.end_time, changed_by=r.changed_by)
                for r in self.session.execute(stmt)]


# --- opportunity teams --------------------------------------------------------------------------

_OWNER_INSERT = insert_or_skip(opportunity_owners, ["opportunity_id", "owner_id", "register_time"],
                               returning="opportunity_id")
_MEMBER_INSERT = insert_or_skip(team_members, ["opportunity_id", "user_id", "role", "can_edit", "add_time",
                                               "added_by"], returning="user_id")


class OpportunityTeamRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add_owner(self, opportunity_id: str, owner_id: str, now: datetime) -> bool:
        """Record a newly registered opportunity's owner; False when it is known already."""
        params = {"opportunity_id": opportunity_id, "owner_id": owner_id, "register_time": now}
        return self.session.execute(_OWNER_INSERT, params).first() is not None

    def transfer_owner(self, from_user_id: str, to_user_id: str) -> int:
        stmt = (sa.update(opportunity_owners).where(opportunity_owners.c.owner_id == from_user_id)
                .values(owner_id=to_user_id))
        return self.session.execute(stmt).rowcount

    def get(self, opportunity_id: str, *, for_update: bool = False) -> OpportunityTeam | None:
        """The team; ``for_update`` holds it until the transaction ends (changes to one team queue up)."""
        stmt = sa.select(opportunity_owners.c.owner_id).where(opportunity_owners.c.opportunity_id == opportunity_id)
        owner_id = self.session.execute(stmt.with_for_update(key_share=True) if for_update else stmt).scalar()
        if owner_id is None:
            return None
        rows = self.session.execute(sa.select(team_members).where(team_members.c.opportunity_id == opportunity_id)
                                    .order_by(team_members.c.position))
        members = [TeamMember(user_id=r.user_id, role=r.role, can_edit=r.can_edit, add_time=r.add_time,
                              added_by=r.added_by) for r in rows]
        return OpportunityTeam(opportunity_id=opportunity_id, owner_id=owner_id, members=members)

    def add_member(self, opportunity_id: str, member: TeamMember) -> bool:
        params = {"opportunity_id": opportunity_id, "user_id": member.user_id, "role": member.role,
                  "can_edit": member.can_edit, "add_time": member.add_time, "added_by": member.added_by}
        return self.session.execute(_MEMBER_INSERT, params).first() is not None

    def remove_member(self, opportunity_id: str, user_id: str) -> bool:
        stmt = sa.delete(team_members).where(team_members.c.opportunity_id == opportunity_id,
                                             team_members.c.user_id == user_id)
        return self.session.execute(stmt).rowcount > 0


# --- team templates -----------------------------------------------------------------------------

def _to_template(row) -> TeamTemplate:
    members = tuple(TemplateMember(m["user_id"], m["role"], bool(m.get("can_edit"))) for m in row.members)
    return TeamTemplate(id=row.id, owner_id=row.owner_id, display_name=row.display_name, for_role=row.for_role,
                        members=members, create_time=row.create_time, update_time=row.update_time)


class TeamTemplateRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, template: TeamTemplate) -> None:
        self.session.execute(sa.insert(team_templates).values(
            id=template.id, owner_id=template.owner_id, display_name=template.display_name,
            for_role=template.for_role, create_time=template.create_time, update_time=template.update_time,
            members=[{"user_id": m.user_id, "role": m.role, "can_edit": m.can_edit} for m in template.members]))

    def get(self, template_id: str) -> TeamTemplate | None:
        row = self.session.execute(sa.select(team_templates).where(team_templates.c.id == template_id)).first()
        return _to_template(row) if row else None

    def list_owned(self, owner_id: str, limit: int, after: Keyset) -> list[TeamTemplate]:
        stmt = sa.select(team_templates).where(team_templates.c.owner_id == owner_id)
        return [_to_template(r) for r in self.session.execute(_page(stmt, team_templates, limit, after))]
