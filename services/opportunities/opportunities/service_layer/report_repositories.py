"""What the report use cases see of their storage, as interfaces: a unit of work that opens one transaction and
hands out a ``ReportStore``; the store's ``deals(viewer, narrowing)`` is the only way to a ``DealSet``, and a deal
set holds only deals its viewer may open. ``adapters.reports_store`` implements them on PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from opportunities.domain.report_rows import (
    ClosedDeal,
    ForecastRow,
    IncentiveRow,
    SnapshotRow,
    SourceRow,
    StageRow,
    TargetRow,
)
from shangji_kit import visibility


class Narrowing(Protocol):
    """A report scope resolved by the store (its department, owner and pipeline known to exist); opaque here."""


class DealSet(Protocol):
    """The deals a report reads: visible to its viewer and inside its scope."""

    def in_pipeline(self, pipeline_id: str) -> DealSet: ...

    def stage_totals(self) -> dict[str, tuple[int, Decimal]]:
        """stage key -> (deals there now, their amount)."""

    def stage_flow(self, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
        """stage key -> (deals that entered it in [start, end), how many of those went on to a later stage)."""

    def stage_durations(self, start: datetime, end: datetime) -> dict[str, Decimal]:
        """stage key -> mean days of the stays that ended in [start, end)."""

    def cycle_days(self, first: date, last: date) -> list[int]:
        """Days from registration to win of the deals won between ``first`` and ``last``."""

    def open_forecast(self, first: date, last: date, granularity: str) -> list[ForecastRow]: ...

    def won_by_period(self, first: date, last: date, granularity: str) -> dict[date, tuple[int, Decimal]]: ...

    def won_amount(self, first: date, last: date) -> Decimal: ...

    def closed_deals(self, first: date, last: date, start: datetime, end: datetime) -> list[ClosedDeal]:
        """Deals won (win date in [first, last]) or lost (entered the lost stage in [start, end))."""

    def lost_page(self, start: datetime, end: datetime, limit: int, after: tuple[datetime, str] | None
                  ) -> list[ClosedDeal]:
        """Deals lost in [start, end), newest loss first; ``after`` is the last (time, id) seen."""

    def registered_by_owner(self, start: datetime, end: datetime, granularity: str) -> dict[tuple[str, date], int]: ...

    def advanced_by_owner(self, start: datetime, end: datetime, granularity: str) -> dict[tuple[str, date], int]: ...

    def closed_by_owner(self, first: date, last: date, start: datetime, end: datetime, granularity: str
                        ) -> dict[tuple[str, date], tuple[int, Decimal, int]]:
        """(owner, bucket) -> (won, amount won, lost)."""

    def missed_close_dates(self, today: date, now: datetime) -> list[tuple[str, int, int]]:
        """Per owner: open deals past their expected close date, deals stalled in their stage."""

    def source_value(self, first: date, last: date, start: datetime, end: datetime) -> list[SourceRow]: ...

    def incentive_rows(self, first: date, last: date) -> list[IncentiveRow]: ...


class ReportStore(Protocol):
    """Everything the report use cases read or write, in one transaction."""

    def viewer(self, user_id: str) -> visibility.Viewer: ...

    def narrowing(self, department_id: str | None, owner_id: str | None, pipeline_id: str | None) -> Narrowing:
        """A scope's names resolved; NOT_FOUND for a department, person or pipeline this service does not know."""

    def deals(self, viewer: visibility.Viewer, narrowing: Narrowing, *, teams: bool = True) -> DealSet:
        """The deals ``viewer`` may open within ``narrowing``; ``teams=False``: by the owner rules alone."""

    def default_pipeline(self) -> str | None: ...

    def latest_stages(self, pipeline_id: str) -> list[StageRow]: ...

    def take_snapshot(self, week_start: date, now: datetime) -> bool:
        """Keep the week's forecast per owner; False when that week was taken before."""

    def snapshots(self, viewer: visibility.Viewer, narrowing: Narrowing, first: date, last: date
                  ) -> list[SnapshotRow]: ...

    def subject_path(self, kind: str, subject_id: str) -> str | None:
        """Where a target's subject sits: a department's path, a person's department's path ("" without one);
        None when teams has not told us about it."""

    def upsert_target(self, row: TargetRow) -> TargetRow:
        """Insert, or replace the amount of the subject's target for that period (its id stays)."""

    def get_target(self, target_id: str, viewer: visibility.Viewer) -> TargetRow | None: ...

    def list_targets(self, viewer: visibility.Viewer, first: date, last: date, subject: tuple[str, str] | None
                     ) -> list[TargetRow]: ...

    def active_members(self, department_id: str) -> list[str]: ...

    def commit(self) -> None: ...


class ReportsUnitOfWork(Protocol):
    """``with uow as store: ...; store.commit()``; leaving the block without commit rolls back."""

    def __enter__(self) -> ReportStore: ...

    def __exit__(self, *exc: object) -> None: ...
