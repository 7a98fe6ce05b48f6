"""Who a report is for and what it covers.

A report use case opens a ``ReportsUnitOfWork`` (``report_repositories``; ``bootstrap`` gives the real one), loads the
caller's viewer and asks the store for the deals of a scope; the store's deal set always applies the viewer's
visibility first, so no figure includes a deal the caller may not open.
"""

from __future__ import annotations

from dataclasses import dataclass

from opportunities.service_layer.report_repositories import DealSet, ReportStore
from shangji_kit import caller, names, visibility


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


def caller_viewer(store: ReportStore, caller_id: str) -> visibility.Viewer:
    """The caller's viewer; UNAUTHENTICATED for a token whose subject is not a user id (the kit's rule)."""
    return store.viewer(caller.user_id(caller_id))


def scoped_deals(store: ReportStore, caller_id: str, scope: Scope, *, teams: bool = True
                 ) -> tuple[visibility.Viewer, DealSet]:
    """The caller's viewer and the deals of ``scope`` they may open (a ``DealSet``)."""
    viewer = caller_viewer(store, caller_id)
    narrowing = store.narrowing(scope.department_id, scope.owner_id, scope.pipeline_id)
    return viewer, store.deals(viewer, narrowing, teams=teams)
