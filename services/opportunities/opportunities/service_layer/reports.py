"""Report use cases: funnel, forecast and its weekly snapshots, win/loss, lost deals, rep performance and the
incentive basis. Each reads inside one transaction through ``report_scope.reading`` (visibility + scope), so no
figure includes a deal the caller may not open. Targets are in ``targets.py``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from opportunities.domain import reporting
from opportunities.domain.report_rows import ClosedDeal, IncentiveRow, SourceRow
from opportunities.domain.reporting import Period
from opportunities.service_layer import targets
from opportunities.service_layer.report_repositories import ReportsUnitOfWork
from opportunities.service_layer.report_scope import Scope, scoped_deals
from shangji_kit import company_time, paging
from shangji_kit.errors import InvalidArgument, NotFound

GRANULARITIES = {"": reporting.MONTH, "MONTH": reporting.MONTH, "QUARTER": reporting.QUARTER,
                 "WEEK": reporting.WEEK}


def granularity(name: str, allowed: tuple[str, ...], field_name: str = "group_by") -> str:
    """A group-by by its enum name ("" for the default, MONTH); INVALID_ARGUMENT naming the field otherwise."""
    value = GRANULARITIES.get(name)
    if value is None or value not in allowed:
        raise InvalidArgument.field(field_name, f"{name or 'that value'} is not one of "
                                                f"{', '.join(a.upper() for a in allowed)}")
    return value


def _instants(period: Period) -> tuple[datetime, datetime]:
    return company_time.day_range(period.start, period.end)


# --- funnel ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FunnelStage:
    key: str
    display_name: str
    category: str
    count: int
    amount: Decimal
    entered: int
    advanced: int
    average_days: Decimal | None


@dataclass(frozen=True)
class Funnel:
    pipeline_id: str
    stages: list[FunnelStage]
    cycle: reporting.SalesCycle


def funnel(scope: Scope, period: Period, caller_id: str, uow: ReportsUnitOfWork) -> Funnel:
    start, end = _instants(period)
    with uow as store:
        _, deals = scoped_deals(store, caller_id, scope)
        pipeline_id = scope.pipeline_id or store.default_pipeline()
        if pipeline_id is None:
            raise NotFound("pipelines/default")
        deals = deals.in_pipeline(pipeline_id)
        now_in = deals.stage_totals()
        flow = deals.stage_flow(start, end)
        durations = deals.stage_durations(start, end)
        cycle = reporting.sales_cycle(deals.cycle_days(period.start, period.end))
        stages = [FunnelStage(st.key, st.display_name, st.category, *now_in.get(st.key, (0, Decimal(0))),
                              *flow.get(st.key, (0, 0)), durations.get(st.key))
                  for st in store.latest_stages(pipeline_id)]
    return Funnel(pipeline_id, stages, cycle)


# --- forecast ----------------------------------------------------------------------------------------------------

@dataclass
class ForecastBucket:
    period: Period
    open_count: int = 0
    pipeline: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    commit: Decimal = Decimal(0)
    best_case: Decimal = Decimal(0)
    won_count: int = 0
    won: Decimal = Decimal(0)
    target: Decimal | None = None

    def add(self, other: ForecastBucket) -> None:
        self.open_count += other.open_count
        self.pipeline += other.pipeline
        self.weighted += other.weighted
        self.commit += other.commit
        self.best_case += other.best_case
        self.won_count += other.won_count
        self.won += other.won
        if other.target is not None:
            self.target = (self.target or Decimal(0)) + other.target


@dataclass(frozen=True)
class Forecast:
    buckets: list[ForecastBucket]
    total: ForecastBucket


def forecast(scope: Scope, period: Period, group_by: str, caller_id: str, uow: ReportsUnitOfWork
             ) -> Forecast:
    buckets = reporting.buckets(period, group_by)
    first, last = buckets[0].start, buckets[-1].end
    with uow as store:
        viewer, deals = scoped_deals(store, caller_id, scope)
        open_rows = {row.start: row for row in deals.open_forecast(first, last, group_by)}
        won = deals.won_by_period(first, last, group_by)
        goals = targets.targets_of(store, viewer, scope.target_subject, first, last)
    out = []
    for b in buckets:
        row = open_rows.get(b.start)
        bucket = ForecastBucket(b)
        if row is not None:
            bucket.open_count, bucket.pipeline, bucket.weighted = row.open_count, row.pipeline, row.weighted
            bucket.commit, bucket.best_case = row.commit, row.best_case
        bucket.won_count, bucket.won = won.get(b.start, (0, Decimal(0)))
        bucket.target = targets.target_for(goals, b) if goals is not None else None
        out.append(bucket)
    total = ForecastBucket(Period(first, last))
    for b in out:
        total.add(b)
    return Forecast(out, total)


# --- forecast snapshots ------------------------------------------------------------------------------------------

def take_forecast_snapshot(now: datetime, uow: ReportsUnitOfWork) -> bool:
    """This company week's snapshot of every owner's open pipeline by close month; once per week."""
    week = company_time.week_start(company_time.today(now))
    with uow as store:
        taken = store.take_snapshot(week, now)
        store.commit()
    return taken


@dataclass(frozen=True)
class Snapshot:
    week_start: date
    close_month: date
    pipeline: Decimal
    weighted: Decimal
    commit: Decimal
    best_case: Decimal
    won: Decimal


def forecast_snapshots(scope: Scope, period: Period, caller_id: str, uow: ReportsUnitOfWork
                       ) -> list[Snapshot]:
    """Snapshots are kept per owner, so they and the won amounts beside them are read by the owner rules alone
    (a team member's view of other owners' deals is not in a snapshot)."""
    first = reporting.period_start(period.start, reporting.MONTH)
    last = reporting.buckets(period, reporting.MONTH)[-1].end
    with uow as store:
        viewer, deals = scoped_deals(store, caller_id, scope, teams=False)
        narrowing = store.narrowing(scope.department_id, scope.owner_id, scope.pipeline_id)
        rows = store.snapshots(viewer, narrowing, first, last)
        won = deals.won_by_period(first, last, reporting.MONTH)
    return [Snapshot(r.week_start, r.close_month, r.pipeline, r.weighted, r.commit, r.best_case,
                     won.get(r.close_month, (0, Decimal(0)))[1]) for r in rows]


# --- win / loss --------------------------------------------------------------------------------------------------

@dataclass
class Tally:
    won_count: int = 0
    won: Decimal = Decimal(0)
    lost_count: int = 0
    lost: Decimal = Decimal(0)

    def count(self, deal: ClosedDeal) -> None:
        if deal.won:
            self.won_count, self.won = self.won_count + 1, self.won + deal.amount
        else:
            self.lost_count, self.lost = self.lost_count + 1, self.lost + deal.amount


@dataclass
class WinLoss:
    total: Tally = field(default_factory=Tally)
    reasons: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    competitors: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    lost_from_stage: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    product_lines: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    sources: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))


def tally_win_loss(deals: list[ClosedDeal]) -> WinLoss:
    """Counts and amounts per reason, competitor, stage lost from, product line and source. A deal with two
    product lines or competitors counts under each."""
    out = WinLoss()
    for d in deals:
        out.total.count(d)
        out.reasons[d.reason].count(d)
        for c in d.competitors:
            out.competitors[c].count(d)
        if not d.won:
            out.lost_from_stage[d.lost_from_stage].count(d)
        for line in d.product_lines or ("",):
            out.product_lines[line].count(d)
        out.sources[d.source].count(d)
    return out


def win_loss(scope: Scope, period: Period, caller_id: str, uow: ReportsUnitOfWork) -> WinLoss:
    start, end = _instants(period)
    with uow as store:
        _, deals = scoped_deals(store, caller_id, scope)
        closed = deals.closed_deals(period.start, period.end, start, end)
    return tally_win_loss(closed)


@dataclass(frozen=True)
class LostPage:
    deals: list[ClosedDeal]
    next_page_token: str


def lost_opportunities(scope: Scope, period: Period, page_size: int, page_token: str, caller_id: str,
                       uow: ReportsUnitOfWork) -> LostPage:
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    start, end = _instants(period)
    with uow as store:
        _, deals = scoped_deals(store, caller_id, scope)
        rows = deals.lost_page(start, end, limit + 1, after)
    page = rows[:limit]
    token = paging.encode_token(page[-1].close_time, page[-1].id) if len(rows) > limit else ""
    return LostPage(page, token)


# --- source value ------------------------------------------------------------------------------------------------

def source_value(scope: Scope, period: Period, caller_id: str, uow: ReportsUnitOfWork) -> list[SourceRow]:
    """Per source (SourceRow: registered, won, lost, won from leads and direct), largest won amount first."""
    start, end = _instants(period)
    with uow as store:
        _, deals = scoped_deals(store, caller_id, scope)
        rows = deals.source_value(period.start, period.end, start, end)
    return sorted(rows, key=lambda r: (-r.won, r.source))


# --- rep performance ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RepPeriod:
    owner_id: str
    start: date
    registered: int
    advanced: int
    won_count: int
    won: Decimal
    lost_count: int


@dataclass(frozen=True)
class RepPerformance:
    rows: list[RepPeriod]
    missed: list[tuple[str, int, int]]


def rep_performance(scope: Scope, period: Period, group_by: str, caller_id: str, uow: ReportsUnitOfWork,
                    now: datetime | None = None) -> RepPerformance:
    now = now or datetime.now(UTC)
    start, end = _instants(period)
    with uow as store:
        _, deals = scoped_deals(store, caller_id, scope)
        registered = deals.registered_by_owner(start, end, group_by)
        advanced = deals.advanced_by_owner(start, end, group_by)
        closed = deals.closed_by_owner(period.start, period.end, start, end, group_by)
        missed = deals.missed_close_dates(company_time.today(now), now)
    keys = sorted({k for k in (*registered, *advanced, *closed) if k[0] is not None})
    rows = [RepPeriod(owner, b, registered.get((owner, b), 0), advanced.get((owner, b), 0),
                      *closed.get((owner, b), (0, Decimal(0), 0))) for owner, b in keys]
    return RepPerformance(rows, missed)


# --- incentive basis ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IncentiveLine:
    row: IncentiveRow
    basis: Decimal


@dataclass(frozen=True)
class IncentiveTotal:
    owner_id: str
    won: Decimal
    basis: Decimal
    new_customer_deals: int
    new_product_deals: int


def incentive_basis(scope: Scope, period: Period, caller_id: str, uow: ReportsUnitOfWork
                    ) -> tuple[list[IncentiveLine], list[IncentiveTotal]]:
    with uow as store:
        _, deals = scoped_deals(store, caller_id, scope)
        rows = deals.incentive_rows(period.start, period.end)
    lines = [IncentiveLine(row, (row.amount * row.difficulty).quantize(reporting.CENT)) for row in rows]
    per_owner: dict[str, list[IncentiveLine]] = defaultdict(list)
    for line in lines:
        per_owner[line.row.owner_id].append(line)
    totals = [IncentiveTotal(owner, sum((x.row.amount for x in xs), Decimal(0)), sum((x.basis for x in xs), Decimal(0)),
                             sum(x.row.new_customer for x in xs), sum(x.row.new_product for x in xs))
              for owner, xs in sorted(per_owner.items())]
    return lines, totals
