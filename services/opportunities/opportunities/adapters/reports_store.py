"""The store the report use cases read through: ``ReportsUnitOfWork`` opens one transaction and hands out a
``ReportStore``; ``ReportStore.deals(viewer, narrowing)`` is the only way to a ``DealSet``, whose WHERE clause always
starts with the kit's visibility rule for that viewer (``shangji_kit.visibility.visible_clause``: owner, team,
department tree, sales_ops). The SQL itself is in ``reports_queries``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from opportunities.adapters.orm import opportunities as o
from opportunities.adapters.orm import org, stage_history, team_members
from opportunities.adapters.reports_queries import (
    active_members,
    advanced_by_owner,
    closed_by_owner,
    closed_deals,
    cycle_days,
    default_pipeline,
    department_path,
    get_target,
    incentive_rows,
    kept_open_forecast,
    kept_stage_totals,
    known_user,
    latest_stages,
    list_targets,
    lost_page,
    missed_close_dates,
    open_forecast,
    owners_in_department,
    pipeline_exists,
    registered_by_owner,
    snapshots,
    source_value,
    stage_durations,
    stage_flow,
    stage_totals,
    take_snapshot,
    targets_visible_to,
    upsert_target,
    user_department,
    won_amount,
    won_by_period,
)
from opportunities.adapters.reports_tables import forecast_snapshots, report_forecast_sums, report_stage_counts
from opportunities.domain.report_rows import (
    ClosedDeal,
    ForecastRow,
    IncentiveRow,
    SnapshotRow,
    SourceRow,
    StageRow,
    TargetRow,
)
from shangji_kit import company_time, visibility
from shangji_kit.errors import NotFound
from shangji_kit.uow import StoreUnitOfWork


def _team_ids(viewer: visibility.Viewer) -> sa.Select:
    return sa.select(team_members.c.opportunity_id).where(team_members.c.user_id == viewer.user_id)


def deals_visible_to(viewer: visibility.Viewer, *, teams: bool = True, owner_col: sa.ColumnElement = o.c.owner_id,
                     id_col: sa.ColumnElement = o.c.id) -> sa.ColumnElement[bool]:
    """The deals ``viewer`` may open (without the assignment queue: reports count active registrations only), on
    the deal's columns or on a row that carries its owner and id (a stay). ``teams=False`` keeps the owner rules
    alone, for figures kept per owner (forecast snapshots, stage counts)."""
    return visibility.visible_clause(viewer, org, owner_col, team_ids=_team_ids(viewer) if teams else None,
                                     id_col=id_col if teams else None)


def team_only(viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
    """Deals the viewer opens through a team alone (the owner rules do not give them): what figures kept per
    owner miss. The viewer's memberships first, then the whole rule on those few deals alone: the rule's
    OR made PostgreSQL walk every deal of a head's tree to drop them again (a level-2 head's funnel at 1M deals:
    about 300 ms of its 450)."""
    by_owner = visibility.visible_clause(viewer, org, o.c.owner_id)
    return sa.and_(o.c.id.in_(_team_ids(viewer)), deals_visible_to(viewer),
                   sa.not_(sa.func.coalesce(by_owner, sa.false())))


@dataclass(frozen=True)
class Narrowing:
    """A scope resolved against the projection: the owners' subquery and the pipeline."""

    owners_path: str | None = None
    owner_id: str | None = None
    pipeline_id: str | None = None

    def clauses(self, owner_col: sa.ColumnElement, pipeline_col: sa.ColumnElement) -> list:
        where: list = []
        if self.owners_path is not None:
            where.append(owner_col.in_(owners_in_department(self.owners_path)))
        if self.owner_id is not None:
            where.append(owner_col == self.owner_id)
        if self.pipeline_id is not None:
            where.append(pipeline_col == self.pipeline_id)
        return where


@dataclass(frozen=True)
class DealSet:
    """The deals a report reads: visible to its viewer and inside its scope."""

    conn: sa.Connection
    viewer: visibility.Viewer
    narrowing: Narrowing
    teams: bool
    tz: str

    @property
    def where(self) -> tuple:
        """The clauses on ``opportunities``: visibility first, then the scope."""
        return (deals_visible_to(self.viewer, teams=self.teams),
                *self.narrowing.clauses(o.c.owner_id, o.c.pipeline_id))

    def in_pipeline(self, pipeline_id: str) -> DealSet:
        return replace(self, narrowing=replace(self.narrowing, pipeline_id=pipeline_id))

    def stage_totals(self) -> dict[str, tuple[int, Decimal]]:
        """From the counts kept per owner, plus the deals seen through a team alone (counted from the deals)."""
        r = report_stage_counts
        totals = kept_stage_totals(self.conn, [visibility.visible_clause(self.viewer, org, r.c.owner_id),
                                               *self.narrowing.clauses(r.c.owner_id, r.c.pipeline_id)])
        if self.teams and not self.viewer.sees_everything:
            through_teams = stage_totals(self.conn, [team_only(self.viewer),
                                                     *self.narrowing.clauses(o.c.owner_id, o.c.pipeline_id)])
            for key, (n, amount) in through_teams.items():
                kept_n, kept_amount = totals.get(key, (0, Decimal(0)))
                totals[key] = (kept_n + n, kept_amount + amount)
        return totals

    def _on_stays(self) -> list:
        """The same deals, on the owner, pipeline and deal id each stay carries."""
        h = stage_history
        return [deals_visible_to(self.viewer, teams=self.teams, owner_col=h.c.owner_id, id_col=h.c.opportunity_id),
                *self.narrowing.clauses(h.c.owner_id, h.c.pipeline_id)]

    def stage_flow(self, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
        return stage_flow(self.conn, self._on_stays(), start, end)

    def stage_durations(self, start: datetime, end: datetime) -> dict[str, Decimal]:
        return stage_durations(self.conn, self._on_stays(), start, end)

    def cycle_days(self, first: date, last: date) -> list[int]:
        return cycle_days(self.conn, list(self.where), first, last, self.tz)

    def open_forecast(self, first: date, last: date, granularity: str) -> list[ForecastRow]:
        """From the sums kept per owner and close month, plus the deals seen through a team alone (from the deals),
        as ``stage_totals`` does."""
        f = report_forecast_sums
        rows = {r.start: r for r in kept_open_forecast(
            self.conn, [visibility.visible_clause(self.viewer, org, f.c.owner_id),
                        *self.narrowing.clauses(f.c.owner_id, f.c.pipeline_id)], first, last, granularity)}
        if self.teams and not self.viewer.sees_everything:
            for extra in open_forecast(self.conn, [team_only(self.viewer),
                                                   *self.narrowing.clauses(o.c.owner_id, o.c.pipeline_id)],
                                       first, last, granularity):
                kept = rows.get(extra.start)
                rows[extra.start] = extra if kept is None else ForecastRow(
                    extra.start, kept.open_count + extra.open_count, kept.pipeline + extra.pipeline,
                    kept.weighted + extra.weighted, kept.commit + extra.commit, kept.best_case + extra.best_case)
        return sorted(rows.values(), key=lambda r: r.start)

    def won_by_period(self, first: date, last: date, granularity: str) -> dict[date, tuple[int, Decimal]]:
        return won_by_period(self.conn, list(self.where), first, last, granularity)

    def won_amount(self, first: date, last: date) -> Decimal:
        return won_amount(self.conn, list(self.where), first, last)

    def closed_deals(self, first: date, last: date, start: datetime, end: datetime) -> list[ClosedDeal]:
        return closed_deals(self.conn, list(self.where), first, last, start, end)

    def lost_page(self, start: datetime, end: datetime, limit: int, after: tuple[datetime, str] | None
                  ) -> list[ClosedDeal]:
        return lost_page(self.conn, list(self.where), start, end, limit, after)

    def registered_by_owner(self, start: datetime, end: datetime, granularity: str) -> dict[tuple[str, date], int]:
        return registered_by_owner(self.conn, list(self.where), start, end, granularity, self.tz)

    def advanced_by_owner(self, start: datetime, end: datetime, granularity: str) -> dict[tuple[str, date], int]:
        return advanced_by_owner(self.conn, list(self.where), start, end, granularity, self.tz)

    def closed_by_owner(self, first: date, last: date, start: datetime, end: datetime, granularity: str
                        ) -> dict[tuple[str, date], tuple[int, Decimal, int]]:
        return closed_by_owner(self.conn, list(self.where), first, last, start, end, granularity, self.tz)

    def missed_close_dates(self, today: date, now: datetime) -> list[tuple[str, int, int]]:
        return missed_close_dates(self.conn, list(self.where), today, now)

    def source_value(self, first: date, last: date, start: datetime, end: datetime) -> list[SourceRow]:
        return source_value(self.conn, list(self.where), first, last, start, end)

    def incentive_rows(self, first: date, last: date) -> list[IncentiveRow]:
        return incentive_rows(self.conn, list(self.where), first, last)


class ReportStore:
    """Everything the report use cases read or write, on one connection (one transaction)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.tz = company_time.zone().key

    def viewer(self, user_id: str) -> visibility.Viewer:
        return visibility.load_viewer(self.conn, org, user_id)

    def narrowing(self, department_id: str | None, owner_id: str | None, pipeline_id: str | None) -> Narrowing:
        """A scope's names resolved; NOT_FOUND for a department, person or pipeline this service does not know."""
        path = None
        if department_id:
            path = department_path(self.conn, department_id)
            if path is None:
                raise NotFound(f"departments/{department_id}")
        if owner_id and not known_user(self.conn, owner_id):
            raise NotFound(f"users/{owner_id}")
        if pipeline_id and not pipeline_exists(self.conn, pipeline_id):
            raise NotFound(f"pipelines/{pipeline_id}")
        return Narrowing(path, owner_id or None, pipeline_id or None)

    def deals(self, viewer: visibility.Viewer, narrowing: Narrowing, *, teams: bool = True) -> DealSet:
        return DealSet(self.conn, viewer, narrowing, teams, self.tz)

    def default_pipeline(self) -> str | None:
        return default_pipeline(self.conn)

    def latest_stages(self, pipeline_id: str) -> list[StageRow]:
        return latest_stages(self.conn, pipeline_id)

    # forecast snapshots
    def take_snapshot(self, week_start: date, now: datetime) -> bool:
        return take_snapshot(self.conn, week_start, now)

    def snapshots(self, viewer: visibility.Viewer, narrowing: Narrowing, first: date, last: date
                  ) -> list[SnapshotRow]:
        f = forecast_snapshots
        where = [visibility.visible_clause(viewer, org, f.c.owner_id), *narrowing.clauses(f.c.owner_id,
                                                                                          f.c.pipeline_id)]
        return snapshots(self.conn, where, first, last)

    # targets
    def subject_path(self, kind: str, subject_id: str) -> str | None:
        """Where a target's subject sits: a department's path, a person's department's path ("" without one);
        None when teams has not told us about it."""
        if kind == "department":
            return department_path(self.conn, subject_id)
        if not known_user(self.conn, subject_id):
            return None
        department = user_department(self.conn, subject_id)
        return "" if department is None else (department_path(self.conn, department) or "")

    def upsert_target(self, row: TargetRow) -> TargetRow:
        return upsert_target(self.conn, row)

    def get_target(self, target_id: str, viewer: visibility.Viewer) -> TargetRow | None:
        return get_target(self.conn, target_id, targets_visible_to(viewer))

    def list_targets(self, viewer: visibility.Viewer, first: date, last: date, subject: tuple[str, str] | None
                     ) -> list[TargetRow]:
        return list_targets(self.conn, targets_visible_to(viewer), first, last, subject)

    def active_members(self, department_id: str) -> list[str]:
        return active_members(self.conn, department_id)

    def commit(self) -> None:
        self.conn.commit()


class ReportsUnitOfWork(StoreUnitOfWork[ReportStore]):
    """``with uow as store: ...; store.commit()``. Leaving without commit rolls back."""

    def __init__(self, sessions: Callable[[], sa.Connection]) -> None:
        super().__init__(sessions, ReportStore)

