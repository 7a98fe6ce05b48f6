"""Who a report is for and what it covers: the caller's viewer and the scope, as WHERE clauses on deals.

Every report reads through ``Reading.where``: the deals the caller may open (the same ``visible`` clause as
Get and List), narrowed by the scope's department tree, owner and pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from opportunities.adapters import reports_queries as q
from opportunities.adapters.repository import visible
from opportunities.service_layer.services import caller_user_id, viewer_of
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import company_time, names, visibility
from shangji_kit.errors import NotFound, PermissionDenied


@dataclass(frozen=True)
class Scope:
    department_id: str | None = None
    owner_id: str | None = None
    pipeline_id: str | None = None

    @property
    def target_subject(self) -> tuple[str, str] | None:
        """The subject whose targets a forecast of this scope is held against (an owner before a department)."""
        if self.owner_id:
            return ("user", self.owner_id)
        if self.department_id:
            return ("department", self.department_id)
        return None


def parse_scope(department: str, owner: str, pipeline: str, field: str = "scope") -> Scope:
    return Scope(
        department_id=names.parse(department, "departments", f"{field}.department") if department else None,
        owner_id=names.parse(owner, "users", f"{field}.owner") if owner else None,
        pipeline_id=names.parse(pipeline, "pipelines", f"{field}.pipeline") if pipeline else None)


@dataclass(frozen=True)
class Reading:
    conn: sa.Connection
    viewer: visibility.Viewer
    where: list
    tz: str


def caller_viewer(uow: OpportunitiesUnitOfWork, caller_id: str) -> visibility.Viewer:
    user_id = caller_user_id(caller_id)
    if user_id is None:
        raise PermissionDenied("the caller is not a user", reason="NOT_A_USER")
    viewer, _ = viewer_of(uow, user_id)
    return viewer


def scope_clauses(conn: sa.Connection, scope: Scope, owner_col: sa.ColumnElement,
                  pipeline_col: sa.ColumnElement | None) -> list:
    """The scope as WHERE clauses on a table's owner (and pipeline) column; NOT_FOUND for an unknown name."""
    where: list = []
    if scope.department_id:
        path = q.department_path(conn, scope.department_id)
        if path is None:
            raise NotFound(f"departments/{scope.department_id}")
        where.append(owner_col.in_(q.owners_in_department(path)))
    if scope.owner_id:
        if not q.known_user(conn, scope.owner_id):
            raise NotFound(f"users/{scope.owner_id}")
        where.append(owner_col == scope.owner_id)
    if scope.pipeline_id and pipeline_col is not None:
        if not q.pipeline_exists(conn, scope.pipeline_id):
            raise NotFound(f"pipelines/{scope.pipeline_id}")
        where.append(pipeline_col == scope.pipeline_id)
    return where


def reading(uow: OpportunitiesUnitOfWork, caller_id: str, scope: Scope) -> Reading:
    """Inside ``with uow``: the caller's viewer and the deals' WHERE clauses for ``scope``."""
    viewer = caller_viewer(uow, caller_id)
    where = [visible(viewer), *scope_clauses(uow.session, scope, q.o.c.owner_id, q.o.c.pipeline_id)]
    return Reading(uow.session, viewer, where, company_time.zone().key)
