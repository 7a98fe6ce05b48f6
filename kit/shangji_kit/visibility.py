"""Record-level visibility, the same everywhere (ARCHITECTURE.md section 6).

A caller may see a record when they own it, are on its team, head a department at or above the
owner's department, or hold a role that sees everything (sales_ops, admin). Services that hold
customer data keep a projection of teams' organisation (``org_users``, ``org_departments``), fed
by teams' events, and filter Get and List in SQL with ``visible_clause``; nobody calls teams on the
read path.

The projection applies full-state events and ignores one older than what it holds, so redelivered
or reordered events leave it correct. Records keep only their ``owner_id``: a department move or a
person's transfer changes two projection rows, never the records.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit import plans
from shangji_kit.roles import GLOBAL_ROLES


def org_users_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "org_users", metadata,
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("department_id", sa.Text),
        sa.Column("roles", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Index("org_users_department", "department_id"),
    )


def org_departments_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "org_departments", metadata,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("parent_id", sa.Text),
        # "/<root id>/.../<id>/": a subtree is every path with this prefix.
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("head_id", sa.Text),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Index("org_departments_head", "head_id"),
        sa.Index("org_departments_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )


@dataclass(frozen=True)
class OrgTables:
    users: sa.Table
    departments: sa.Table


def org_tables(metadata: sa.MetaData) -> OrgTables:
    return OrgTables(org_users_table(metadata), org_departments_table(metadata))


# --- keeping the projection --------------------------------------------------------------------

@dataclass(frozen=True)
class OrgUser:
    user_id: str
    department_id: str | None
    roles: tuple[str, ...]
    active: bool
    update_time: datetime


@dataclass(frozen=True)
class OrgDepartment:
    id: str
    parent_id: str | None
    path: str
    head_id: str | None
    update_time: datetime


def apply_user(conn: sa.Connection, org: OrgTables, user: OrgUser) -> None:
    """Upsert from a UserCreated/UserUpdated/UserDeactivated event; an older state is ignored."""
    t = org.users
    stmt = pg.insert(t).values(user_id=user.user_id, department_id=user.department_id, roles=list(user.roles),
                               active=user.active, update_time=user.update_time)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.user_id],
        set_={"department_id": stmt.excluded.department_id, "roles": stmt.excluded.roles,
              "active": stmt.excluded.active, "update_time": stmt.excluded.update_time},
        where=t.c.update_time <= stmt.excluded.update_time)
    conn.execute(stmt)


def apply_department(conn: sa.Connection, org: OrgTables, dept: OrgDepartment) -> None:
    """Upsert from a DepartmentChanged event; an older state is ignored."""
    t = org.departments
    stmt = pg.insert(t).values(id=dept.id, parent_id=dept.parent_id, path=dept.path, head_id=dept.head_id,
                               update_time=dept.update_time)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.id],
        set_={"parent_id": stmt.excluded.parent_id, "path": stmt.excluded.path, "head_id": stmt.excluded.head_id,
              "update_time": stmt.excluded.update_time},
        where=t.c.update_time <= stmt.excluded.update_time)
    conn.execute(stmt)


def is_active_user(conn: sa.Connection, org: OrgTables, user_id: str) -> bool | None:
    """True/False from the projection; None when teams has not told us about this user."""
    row = conn.execute(sa.select(org.users.c.active).where(org.users.c.user_id == user_id)).first()
    return None if row is None else bool(row.active)


# --- reading with it ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Viewer:
    """What the caller may see, resolved once per request from the projection.

    ``deactivated``: teams says this user left; they keep sight of their own records only. A user
    teams has not told us about yet is not deactivated: they see their own and their teams' records.
    """

    user_id: str
    sees_everything: bool
    headed_paths: tuple[str, ...]
    deactivated: bool = False


@functools.cache
def _viewer_statement(org: OrgTables) -> sa.Select:
    """One round trip for a viewer: the user's row and the paths of the departments they head.

    Built once per service (a module-level statement keeps SQLAlchemy from rebuilding it and
    re-deriving its cache key on every call; the hot write paths load a viewer each time).
    """
    u, d = org.users, org.departments
    headed = sa.func.array(sa.select(d.c.path).where(d.c.head_id == u.c.user_id).scalar_subquery())
    return plans.generic(sa.select(u.c.roles, u.c.active, headed.label("headed_paths")).where(
        u.c.user_id == sa.bindparam("user_id")))


def load_viewer(conn: sa.Connection, org: OrgTables, user_id: str) -> Viewer:
    row = conn.execute(_viewer_statement(org), {"user_id": user_id}).first()
    active = bool(row and row.active)
    roles = set(row.roles or ()) if row else set()
    paths = tuple(row.headed_paths or ()) if active else ()
    return Viewer(user_id=user_id, sees_everything=active and bool(roles & GLOBAL_ROLES), headed_paths=paths,
                  deactivated=row is not None and not row.active)


def _owners_below(org: OrgTables, paths: Iterable[str], as_type: sa.types.TypeEngine | None = None) -> sa.Select:
    """Users whose department lies in any of the subtrees rooted at ``paths``.

    ``as_type`` casts the ids to the record's owner column type (a UUID column cannot be compared
    with the projection's text ids), so the cast lands on the small side and indexes on the
    record's owner column stay usable.
    """
    d, u = org.departments, org.users
    in_subtree = sa.or_(*(d.c.path.startswith(p, autoescape=True) for p in paths))
    user_id = u.c.user_id if as_type is None else sa.cast(u.c.user_id, as_type)
    return sa.select(user_id).join(d, d.c.id == u.c.department_id).where(in_subtree)


# --- the rule built once -----------------------------------------------------------------------

# A viewer falls in one shape: sees all, own only (deactivated), member (no department headed) or head of
# N departments ("head:N"); the clause of each is built once per rule, with the viewer's id and headed
# paths as bind parameters, so a hot path executes a statement built once instead of rebuilding the
# expression (and its cache key) on every call.
SEES_ALL, OWN_ONLY, MEMBER = "all", "own", "member"


def shape_of(viewer: Viewer) -> str:
    if viewer.sees_everything:
        return SEES_ALL
    if viewer.deactivated:
        return OWN_ONLY
    return f"head:{len(viewer.headed_paths)}" if viewer.headed_paths else MEMBER


def viewer_param(type_: sa.types.TypeEngine | None = None) -> sa.BindParameter:
    """The viewer's id inside a rule's ``team_ids`` or ``extra`` (filled by ``VisibleRule.params``).

    Give the column's type: without one the parameter is untyped and PostgreSQL infers it."""
    return sa.bindparam("vis_viewer", type_=type_)


def _like_prefix(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class PerShape(dict):
    """Statements built on first use per viewer shape: ``stmts[shape_of(viewer)]``."""

    def __init__(self, build: Callable[[str], sa.Executable]) -> None:
        super().__init__()
        self._build = build

    def __missing__(self, shape: str) -> sa.Executable:
        stmt = self[shape] = self._build(shape)  # two threads may both build it once: the same statement
        return stmt


class VisibleRule:
    """``visible_clause`` for one kind of record, built once per viewer shape.

    ``team_ids`` selects (one column) the record ids whose team has the viewer, ``extra`` adds the
    service's own rules for members and heads, ``head_extra`` rules for heads only; all three refer to
    the viewer through ``viewer_param()``. Use::

        RULE = VisibleRule(org, deals.c.owner_id, team_ids=..., id_col=deals.c.id)
        GET = RULE.per_shape(lambda visible: select(...).where(deals.c.id == bindparam("id"), visible), one=True)
        conn.execute(GET[shape_of(viewer)], {"id": deal_id, **RULE.params(viewer)})

    A head's subtrees are one ``path LIKE :vis_path_<i>`` each (statements per number of departments
    headed, almost always one): an array parameter (``LIKE ANY``) hid the prefixes from the planner's
    estimates and made a head's page 2-5x slower on 1M deals.
    """

    def __init__(self, org: OrgTables, owner_col: sa.ColumnElement, *, team_ids: sa.Select | None = None,
                 id_col: sa.ColumnElement | None = None, extra: Iterable[sa.ColumnElement] = (),
                 head_extra: Iterable[sa.ColumnElement] = ()) -> None:
        self.org = org
        self.owner_col = owner_col
        self.owner = owner_col == sa.bindparam("vis_owner", type_=owner_col.type)
        self.head_extra = tuple(head_extra)
        self.rules: list[sa.ColumnElement[bool]] = [self.owner, *extra]
        self.one_rules: list[sa.ColumnElement[bool]] = [self.owner, *extra]
        if team_ids is not None and id_col is not None:
            ids = team_ids.with_only_columns(sa.func.array_agg(team_ids.selected_columns[0])).scalar_subquery()
            self.rules.append(id_col == sa.any_(sa.cast(ids, pg.ARRAY(id_col.type))))
            self.one_rules.append(team_ids.where(team_ids.selected_columns[0] == id_col).exists())
        self._clauses = PerShape(lambda shape: self._build(shape, one=False))
        self._one = PerShape(lambda shape: self._build(shape, one=True))

    def _build(self, shape: str, *, one: bool) -> sa.ColumnElement[bool]:
        if shape == SEES_ALL:
            return sa.true()
        if shape == OWN_ONLY:
            return self.owner
        rules = self.one_rules if one else self.rules
        if shape == MEMBER:
            return sa.or_(*rules)
        count = int(shape.removeprefix("head:"))
        d, u = self.org.departments, self.org.users
        in_subtree = sa.or_(*(d.c.path.like(sa.bindparam(f"vis_path_{i}", type_=sa.Text)) for i in range(count)))
        if one:
            # For one record: is its owner below a headed department? An index lookup of that owner, where
            # ``IN (...)`` would gather everyone below first (right for a list, wasteful for one row).
            below = sa.exists().where(u.c.user_id == sa.cast(self.owner_col, sa.Text), d.c.id == u.c.department_id,
                                      in_subtree)
        else:
            below = self.owner_col.in_(sa.select(sa.cast(u.c.user_id, self.owner_col.type))
                                       .join(d, d.c.id == u.c.department_id).where(in_subtree))
        return sa.or_(*rules, *self.head_extra, below)

    def clause(self, shape: str) -> sa.ColumnElement[bool]:
        """For lists: the rows a viewer of ``shape`` may see."""
        return self._clauses[shape]

    def one_clause(self, shape: str) -> sa.ColumnElement[bool]:
        """The same rule for a read of one record by its id (a Get): checks that record's owner only."""
        return self._one[shape]

    def per_shape(self, build: Callable[[sa.ColumnElement[bool]], sa.Executable], *, one: bool = False) -> PerShape:
        """Statements ``build(clause)`` made once per shape, on first use (``one``: with the one-row rule).

        A one-row statement is marked ``plans.generic``: its record is found by id and its owner by key, whatever
        the viewer, so PostgreSQL may keep its plan; a list's plan depends on the LIKE prefixes (never marked)."""
        if one:
            return PerShape(lambda shape: plans.generic(build(self.one_clause(shape))))
        return PerShape(lambda shape: build(self.clause(shape)))

    @staticmethod
    def params(viewer: Viewer) -> dict:
        params = {"vis_owner": viewer.user_id, "vis_viewer": viewer.user_id}
        for i, path in enumerate(viewer.headed_paths):
            params[f"vis_path_{i}"] = _like_prefix(path)
        return params

    def bound(self, viewer: Viewer) -> sa.ColumnElement[bool]:
        """The viewer's clause with its values bound: for statements built per call."""
        clause = self._clauses[shape_of(viewer)]
        return clause if viewer.sees_everything else clause.params(self.params(viewer))


def visible_clause(viewer: Viewer, org: OrgTables, owner_col: sa.ColumnElement,
                   team_ids: sa.Select | None = None, id_col: sa.ColumnElement | None = None,
                   extra: Iterable[sa.ColumnElement] = ()) -> sa.ColumnElement[bool]:
    """WHERE clause: the rows ``viewer`` may see.

    ``team_ids`` selects (one column) the record ids whose team has the viewer; ``extra`` adds rules
    of the service's own (e.g. the lead pool, open to everyone).

    The team rule is ``id = ANY(<array>)``, not ``id IN (subquery)``: inside the OR, a hashed
    subplan kept PostgreSQL from combining the owner index with the primary key, so a rep's list
    walked the whole newest-first index (300k deals: 160-230 ms a page); the array is an init plan
    and the OR a BitmapOr of index scans (2-3 ms).

    Built per call; a hot path builds a ``VisibleRule`` once instead (the same rules, with parameters).
    """
    return VisibleRule(org, owner_col, team_ids=team_ids, id_col=id_col, extra=extra).bound(viewer)


@functools.cache
def _manages_statement(org: OrgTables) -> sa.Select:
    """Built once per service: the owner's row, below any of the viewer's headed subtrees (an array parameter).
    One user by key whatever the paths, so its plan may be kept (``plans``)."""
    d, u = org.departments, org.users
    return plans.generic(sa.select(sa.literal(True)).select_from(u.join(d, d.c.id == u.c.department_id))
                         .where(u.c.user_id == sa.bindparam("owner_id", type_=sa.Text),
                                d.c.path.like(sa.any_(sa.bindparam("vis_paths", type_=pg.ARRAY(sa.Text))))))


def in_department(org: OrgTables, owner_col: sa.ColumnElement, department_id: str) -> sa.ColumnElement[bool]:
    """Records whose owner belongs to ``department_id`` or a department below it (a list's ``department`` filter)."""
    d, u = org.departments, org.users
    root = sa.select(d.c.path).where(d.c.id == department_id).scalar_subquery()
    below = sa.select(sa.cast(u.c.user_id, owner_col.type)).join(d, d.c.id == u.c.department_id).where(
        d.c.path.startswith(root))
    return owner_col.in_(below)


def manages(conn: sa.Connection, org: OrgTables, viewer: Viewer, owner_id: str) -> bool:
    """Whether ``viewer`` heads a department at or above ``owner_id``'s department."""
    if not viewer.headed_paths or owner_id == viewer.user_id:
        return False
    params = {"owner_id": str(owner_id), "vis_paths": [_like_prefix(p) for p in viewer.headed_paths]}
    return conn.execute(_manages_statement(org), params).first() is not None
