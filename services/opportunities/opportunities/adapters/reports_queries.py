"""The reports' SQL: aggregates over deals, stage history, targets and snapshots. Each function takes the
connection and the WHERE clauses on ``opportunities`` that ``reports_store`` built (visibility first, then the
scope); none decides who may see what.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from opportunities.adapters.orm import (
    opportunities,
    org,
    pipeline_stages,
    pipeline_versions,
    stage_history,
)
from opportunities.adapters.reports_tables import (
    forecast_snapshots,
    forecast_weeks,
    report_forecast_sums,
    report_stage_counts,
    targets,
    win_reasons,
)
from opportunities.domain.report_rows import (
    ClosedDeal,
    ForecastRow,
    IncentiveRow,
    SnapshotRow,
    SourceRow,
    StageRow,
    TargetRow,
)
from opportunities.domain.reporting import BEST_CASE_PROBABILITY, COMMIT_PROBABILITY
from shangji_kit import visibility

o = opportunities
s = pipeline_stages
_ZERO = sa.literal(0, sa.Numeric)

# A deal counts in reports once its registration is active (pending, rejected and queued ones are not deals yet).
ACTIVE = o.c.registration_state == "active"
_stage_join = sa.and_(s.c.pipeline_id == o.c.pipeline_id, s.c.version == o.c.pipeline_version,
                      s.c.key == o.c.stage_key)
_probability = sa.func.coalesce(o.c.probability, s.c.probability)
_amount = sa.func.coalesce(o.c.amount, _ZERO)


def local_date(column: sa.ColumnElement, tz: str) -> sa.ColumnElement:
    """A timestamptz as the company's date."""
    return sa.cast(sa.func.timezone(tz, column), sa.Date)


def owners_in_department(path: str) -> sa.Select:
    """The users (as uuids) in the department tree at ``path``."""
    u, d = org.users, org.departments
    return (sa.select(sa.cast(u.c.user_id, o.c.owner_id.type)).join(d, d.c.id == u.c.department_id)
            .where(d.c.path.startswith(path, autoescape=True)))


def department_path(conn: sa.Connection, department_id: str) -> str | None:
    return conn.execute(sa.select(org.departments.c.path).where(org.departments.c.id == department_id)).scalar()


def known_user(conn: sa.Connection, user_id: str) -> bool:
    return conn.execute(sa.select(org.users.c.user_id).where(org.users.c.user_id == user_id)).first() is not None


def user_department(conn: sa.Connection, user_id: str) -> str | None:
    return conn.execute(sa.select(org.users.c.department_id).where(org.users.c.user_id == user_id)).scalar()


def default_pipeline(conn: sa.Connection) -> str | None:
    return conn.execute(sa.text("SELECT id FROM pipelines WHERE is_default")).scalar()


def pipeline_exists(conn: sa.Connection, pipeline_id: str) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pipelines WHERE id = :id"), {"id": pipeline_id}).first() is not None


# --- funnel --------------------------------------------------------------------------------------------------


def latest_stages(conn: sa.Connection, pipeline_id: str) -> list[StageRow]:
    """The stages of a pipeline's latest version, in order."""
    stmt = (sa.select(s.c.key, s.c.display_name, s.c.category, s.c.position)
            .where(s.c.pipeline_id == pipeline_id,
                   s.c.version == sa.select(sa.func.max(s.c.version)).where(s.c.pipeline_id == pipeline_id)
                   .scalar_subquery())
            .order_by(s.c.position))
    return [StageRow(*row) for row in conn.execute(stmt)]


def stage_totals(conn: sa.Connection, where: list) -> dict[str, tuple[int, Decimal]]:
    """Deals in each stage now: stage key -> (count, amount)."""
    stmt = (sa.select(o.c.stage_key, sa.func.count(), sa.func.coalesce(sa.func.sum(o.c.amount), _ZERO))
            .where(ACTIVE, *where).group_by(o.c.stage_key))
    return {key: (n, amount) for key, n, amount in conn.execute(stmt)}


def kept_stage_totals(conn: sa.Connection, where: list) -> dict[str, tuple[int, Decimal]]:
    """Deals in each stage now, from the counts kept per owner (``where`` on ``report_stage_counts``)."""
    r = report_stage_counts
    stmt = (sa.select(r.c.stage_key, sa.func.sum(r.c.deals), sa.func.sum(r.c.amount))
            .where(r.c.deals > 0, *where).group_by(r.c.stage_key))
    return {key: (int(n), amount) for key, n, amount in conn.execute(stmt)}


def stage_flow(conn: sa.Connection, where: list, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Stays entered in [start, end): stage key -> (entered, of those how many reached a later, not lost stage).
    ``where`` is on the stay's own copies of its deal's owner, pipeline and id (kept by triggers, migration 0013)."""
    h = stage_history
    stmt = (sa.select(h.c.stage_key, sa.func.count(), sa.func.count().filter(h.c.advanced))
            .where(h.c.enter_time >= start, h.c.enter_time < end, h.c.counted, h.c.known_stage, *where)
            .group_by(h.c.stage_key))
    return {key: (entered, advanced) for key, entered, advanced in conn.execute(stmt)}


def stage_durations(conn: sa.Connection, where: list, start: datetime, end: datetime) -> dict[str, Decimal]:
    """Mean days of the stays that ended in [start, end), by stage key; ``where`` as for ``stage_flow``."""
    h = stage_history
    days = sa.func.extract("epoch", h.c.exit_time - h.c.enter_time) / 86400
    stmt = (sa.select(h.c.stage_key, sa.func.avg(days))
            .where(h.c.exit_time >= start, h.c.exit_time < end, h.c.counted, *where).group_by(h.c.stage_key))
    return {key: Decimal(avg) for key, avg in conn.execute(stmt)}


def cycle_days(conn: sa.Connection, where: list, first: date, last: date, tz: str) -> list[int]:
    """Days from registration (company date) to win of the deals won in [first, last]."""
    stmt = (sa.select(o.c.win_date - local_date(o.c.create_time, tz)).select_from(o.join(s, _stage_join))
            .where(s.c.category == "won", o.c.win_date >= first, o.c.win_date <= last, ACTIVE, *where))
    return [max(int(d), 0) for d in conn.execute(stmt).scalars()]


# --- forecast --------------------------------------------------------------------------------------------------


def _truncated(column: sa.ColumnElement, granularity: str) -> sa.ColumnElement:
    return sa.cast(sa.func.date_trunc(granularity, column), sa.Date)


def open_forecast(conn: sa.Connection, where: list, first: date, last: date, granularity: str
                  ) -> list[ForecastRow]:
    """Open deals by expected close month or quarter in [first, last]."""
    bucket = _truncated(o.c.expected_close_date, granularity).label("bucket")
    stmt = (sa.select(bucket, sa.func.count(), sa.func.sum(_amount), sa.func.sum(_amount * _probability / 100),
                      sa.func.coalesce(sa.func.sum(_amount).filter(_probability >= COMMIT_PROBABILITY), _ZERO),
                      sa.func.coalesce(sa.func.sum(_amount).filter(_probability >= BEST_CASE_PROBABILITY), _ZERO))
            .select_from(o.join(s, _stage_join))
            .where(s.c.category == "open", o.c.expected_close_date >= first, o.c.expected_close_date <= last,
                   ACTIVE, *where)
            .group_by(bucket))
    return [ForecastRow(*row) for row in conn.execute(stmt)]


def kept_open_forecast(conn: sa.Connection, where: list, first: date, last: date, granularity: str
                       ) -> list[ForecastRow]:
    """``open_forecast`` from the sums kept per owner and close month (``where`` on ``report_forecast_sums``);
    buckets are whole months or quarters, so no month's row is split."""
    f = report_forecast_sums
    bucket = _truncated(f.c.close_month, granularity).label("bucket")
    stmt = (sa.select(bucket, sa.func.sum(f.c.deals), sa.func.sum(f.c.amount), sa.func.sum(f.c.weighted),
                      sa.func.sum(f.c.commit_amount), sa.func.sum(f.c.best_case_amount))
            .where(f.c.close_month >= first, f.c.close_month <= last, f.c.deals > 0, *where)
            .group_by(bucket))
    return [ForecastRow(start, int(n), *sums) for start, n, *sums in conn.execute(stmt)]


def won_by_period(conn: sa.Connection, where: list, first: date, last: date, granularity: str
                  ) -> dict[date, tuple[int, Decimal]]:
    """Deals won in [first, last] by month or quarter of their win date: start -> (count, amount)."""
    bucket = _truncated(o.c.win_date, granularity).label("bucket")
    stmt = (sa.select(bucket, sa.func.count(), sa.func.sum(_amount)).select_from(o.join(s, _stage_join))
            .where(s.c.category == "won", o.c.win_date >= first, o.c.win_date <= last, ACTIVE, *where)
            .group_by(bucket))
    return {start: (n, amount) for start, n, amount in conn.execute(stmt)}


# --- forecast snapshots ----------------------------------------------------------------------------------------

def take_snapshot(conn: sa.Connection, week_start: date, now: datetime) -> bool:
    """The week's snapshot of every owner's open pipeline by close month, unless this week's was taken."""
    claimed = conn.execute(pg.insert(forecast_weeks).values(week_start=week_start, take_time=now)
                           .on_conflict_do_nothing().returning(forecast_weeks.c.week_start)).first()
    if claimed is None:
        return False
    month = _truncated(o.c.expected_close_date, "month")
    rows = (sa.select(sa.literal(week_start, sa.Date), o.c.owner_id, o.c.pipeline_id, month, sa.func.count(),
                      sa.func.sum(_amount), sa.func.sum(_amount * _probability / 100),
                      sa.func.coalesce(sa.func.sum(_amount).filter(_probability >= COMMIT_PROBABILITY), _ZERO),
                      sa.func.coalesce(sa.func.sum(_amount).filter(_probability >= BEST_CASE_PROBABILITY), _ZERO))
            .select_from(o.join(s, _stage_join))
            .where(s.c.category == "open", o.c.expected_close_date.is_not(None), o.c.owner_id.is_not(None), ACTIVE)
            .group_by(o.c.owner_id, o.c.pipeline_id, month))
    f = forecast_snapshots
    conn.execute(f.insert().from_select(
        [f.c.week_start, f.c.owner_id, f.c.pipeline_id, f.c.close_month, f.c.open_count, f.c.pipeline_amount,
         f.c.weighted_amount, f.c.commit_amount, f.c.best_case_amount], rows))
    return True


def snapshots(conn: sa.Connection, where: list, first: date, last: date) -> list[SnapshotRow]:
    """Snapshot rows of close months in [first, last], summed over the owners ``where`` (on the snapshot) keeps."""
    f = forecast_snapshots
    stmt = (sa.select(f.c.week_start, f.c.close_month, sa.func.sum(f.c.pipeline_amount),
                      sa.func.sum(f.c.weighted_amount), sa.func.sum(f.c.commit_amount),
                      sa.func.sum(f.c.best_case_amount))
            .where(f.c.close_month >= first, f.c.close_month <= last, *where)
            .group_by(f.c.close_month, f.c.week_start).order_by(f.c.close_month, f.c.week_start))
    return [SnapshotRow(*row) for row in conn.execute(stmt)]


# --- targets ---------------------------------------------------------------------------------------------------

_TARGET_COLUMNS = [targets.c[n] for n in TargetRow.__dataclass_fields__]


def upsert_target(conn: sa.Connection, row: TargetRow) -> TargetRow:
    """Insert, or replace the amount of the subject's target for that period (its id stays)."""
    t = targets
    stmt = pg.insert(t).values(**{n: getattr(row, n) for n in TargetRow.__dataclass_fields__})
    stmt = stmt.on_conflict_do_update(
        constraint="targets_subject_period",
        set_={"amount": stmt.excluded.amount, "set_by": stmt.excluded.set_by, "update_time": stmt.excluded.update_time,
              "split_from": stmt.excluded.split_from})
    return TargetRow(*conn.execute(stmt.returning(*_TARGET_COLUMNS)).one())


def get_target(conn: sa.Connection, target_id: str, visible: sa.ColumnElement[bool]) -> TargetRow | None:
    row = conn.execute(sa.select(*_TARGET_COLUMNS).where(targets.c.id == target_id, visible)).first()
    return None if row is None else TargetRow(*row)


def list_targets(conn: sa.Connection, visible: sa.ColumnElement[bool], first: date, last: date,
                 subject: tuple[str, str] | None) -> list[TargetRow]:
    stmt = sa.select(*_TARGET_COLUMNS).where(targets.c.start_date <= last, targets.c.end_date >= first, visible)
    if subject is not None:
        stmt = stmt.where(targets.c.subject_kind == subject[0], targets.c.subject_id == subject[1])
    stmt = stmt.order_by(targets.c.start_date, targets.c.subject_kind, targets.c.subject_id)
    return [TargetRow(*row) for row in conn.execute(stmt)]


def targets_visible_to(viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
    """Targets a viewer may see: their own; the departments and people in trees they head; all for sales_ops."""
    if viewer.sees_everything:
        return sa.true()
    mine = sa.and_(targets.c.subject_kind == "user", targets.c.subject_id == viewer.user_id)
    if viewer.deactivated or not viewer.headed_paths:
        return mine
    d, u = org.departments, org.users
    in_tree = sa.or_(*(d.c.path.startswith(p, autoescape=True) for p in viewer.headed_paths))
    departments = sa.select(d.c.id).where(in_tree)
    people = sa.select(u.c.user_id).join(d, d.c.id == u.c.department_id).where(in_tree)
    return sa.or_(mine, sa.and_(targets.c.subject_kind == "department", targets.c.subject_id.in_(departments)),
                  sa.and_(targets.c.subject_kind == "user", targets.c.subject_id.in_(people)))


def active_members(conn: sa.Connection, department_id: str) -> list[str]:
    """Active people whose department is exactly this one, by id."""
    u = org.users
    stmt = sa.select(u.c.user_id).where(u.c.department_id == department_id, u.c.active).order_by(u.c.user_id)
    return list(conn.execute(stmt).scalars())


def won_amount(conn: sa.Connection, where: list, first: date, last: date) -> Decimal:
    stmt = (sa.select(sa.func.coalesce(sa.func.sum(_amount), _ZERO)).select_from(o.join(s, _stage_join))
            .where(s.c.category == "won", o.c.win_date >= first, o.c.win_date <= last, ACTIVE, *where))
    return conn.execute(stmt).scalar_one()


# --- win / loss ------------------------------------------------------------------------------------------------


def _lost_from() -> sa.ScalarSelect:
    """The stage a deal was in before its current (lost) stay."""
    h = stage_history
    return (sa.select(h.c.stage_key).where(h.c.opportunity_id == o.c.id, h.c.exit_time.is_not(None))
            .order_by(h.c.id.desc()).limit(1).scalar_subquery())


def _closed_columns():
    w = win_reasons
    return (o.c.id, s.c.category == "won", o.c.title, o.c.customer_company, o.c.owner_id, _amount,
            sa.case((s.c.category == "won", sa.func.coalesce(w.c.reason, "")), else_=o.c.lost_reason),
            sa.case((s.c.category == "won", sa.func.coalesce(w.c.competitors_beaten, sa.text("'{}'::text[]"))),
                    else_=sa.func.array_remove(sa.func.array(sa.select(o.c.lost_competitor).scalar_subquery()),
                                               "")),
            o.c.product_lines, o.c.source,
            sa.case((s.c.category == "lost", sa.func.coalesce(_lost_from(), "")), else_=""),
            o.c.stage_enter_time)


def closed_deals(conn: sa.Connection, where: list, first: date, last: date, start: datetime, end: datetime
                 ) -> list[ClosedDeal]:
    """Deals won in [first, last] (win date) or lost in [start, end) (when they entered the lost stage)."""
    in_period = sa.or_(sa.and_(s.c.category == "won", o.c.win_date >= first, o.c.win_date <= last),
                       sa.and_(s.c.category == "lost", o.c.stage_enter_time >= start, o.c.stage_enter_time < end))
    stmt = (sa.select(*_closed_columns())
            .select_from(o.join(s, _stage_join).outerjoin(win_reasons, win_reasons.c.opportunity_id == o.c.id))
            .where(in_period, ACTIVE, *where))
    return [_closed(row) for row in conn.execute(stmt)]


def _closed(row) -> ClosedDeal:
    values = list(row)
    values[7], values[8] = tuple(values[7] or ()), tuple(values[8] or ())
    return ClosedDeal(*values)


def lost_page(conn: sa.Connection, where: list, start: datetime, end: datetime, limit: int,
              after: tuple[datetime, str] | None) -> list[ClosedDeal]:
    """Deals lost in [start, end), newest first, keyset-paged by (loss time, id)."""
    stmt = (sa.select(*_closed_columns())
            .select_from(o.join(s, _stage_join).outerjoin(win_reasons, win_reasons.c.opportunity_id == o.c.id))
            .where(s.c.category == "lost", o.c.stage_enter_time >= start, o.c.stage_enter_time < end, ACTIVE, *where))
    if after is not None:
        last = sa.tuple_(sa.literal(after[0], o.c.update_time.type), sa.literal(after[1], o.c.id.type))
        stmt = stmt.where(sa.tuple_(o.c.stage_enter_time, o.c.id) < last)
    stmt = stmt.order_by(o.c.stage_enter_time.desc(), o.c.id.desc()).limit(limit)
    return [_closed(row) for row in conn.execute(stmt)]


# --- rep performance -------------------------------------------------------------------------------------------

def registered_by_owner(conn: sa.Connection, where: list, start: datetime, end: datetime, granularity: str,
                        tz: str) -> dict[tuple[str, date], int]:
    bucket = _truncated(local_date(o.c.create_time, tz), granularity).label("bucket")
    stmt = (sa.select(o.c.owner_id, bucket, sa.func.count())
            .where(o.c.create_time >= start, o.c.create_time < end, ACTIVE, *where).group_by(o.c.owner_id, bucket))
    return {(owner, b): n for owner, b, n in conn.execute(stmt)}


def advanced_by_owner(conn: sa.Connection, where: list, start: datetime, end: datetime, granularity: str,
                      tz: str) -> dict[tuple[str, date], int]:
    """Forward moves into open stages made in [start, end), by the deal's owner."""
    h = stage_history
    previous = sa.func.lag(s.c.position).over(partition_by=h.c.opportunity_id, order_by=h.c.id)
    moves = (sa.select(o.c.owner_id, h.c.enter_time, s.c.position, s.c.category, previous.label("previous"))
             .select_from(h.join(o, o.c.id == h.c.opportunity_id).join(s, sa.and_(
                 s.c.pipeline_id == o.c.pipeline_id, s.c.version == o.c.pipeline_version, s.c.key == h.c.stage_key)))
             .where(h.c.enter_time < end, ACTIVE, *where).subquery())
    bucket = _truncated(local_date(moves.c.enter_time, tz), granularity).label("bucket")
    stmt = (sa.select(moves.c.owner_id, bucket, sa.func.count())
            .where(moves.c.enter_time >= start, moves.c.category == "open", moves.c.position > moves.c.previous)
            .group_by(moves.c.owner_id, bucket))
    return {(owner, b): n for owner, b, n in conn.execute(stmt)}


def closed_by_owner(conn: sa.Connection, where: list, first: date, last: date, start: datetime, end: datetime,
                    granularity: str, tz: str) -> dict[tuple[str, date], tuple[int, Decimal, int]]:
    """(won count, won amount, lost count) by owner and period of the win date / loss day."""
    day = sa.case((s.c.category == "won", o.c.win_date), else_=local_date(o.c.stage_enter_time, tz))
    bucket = _truncated(day, granularity).label("bucket")
    won = s.c.category == "won"
    in_period = sa.or_(sa.and_(won, o.c.win_date >= first, o.c.win_date <= last),
                       sa.and_(s.c.category == "lost", o.c.stage_enter_time >= start, o.c.stage_enter_time < end))
    stmt = (sa.select(o.c.owner_id, bucket, sa.func.count().filter(won),
                      sa.func.coalesce(sa.func.sum(_amount).filter(won), _ZERO), sa.func.count().filter(~won))
            .select_from(o.join(s, _stage_join)).where(in_period, ACTIVE, *where).group_by(o.c.owner_id, bucket))
    return {(owner, b): (w, amount, lost) for owner, b, w, amount, lost in conn.execute(stmt)}


def missed_close_dates(conn: sa.Connection, where: list, today: date, now: datetime) -> list[tuple[str, int, int]]:
    """(owner, overdue, stalled) of open deals now, owners with either, most overdue first."""
    pv = pipeline_versions
    # The deal's stage's max_days from its pipeline version's definition (NULL: never stalls).
    stage_elem = sa.func.jsonb_path_query_first(
        sa.select(pv.c.definition).where(pv.c.pipeline_id == o.c.pipeline_id, pv.c.version == o.c.pipeline_version)
        .scalar_subquery(),
        sa.literal_column("'$.stages[*] ? (@.key == $k).max_days'::jsonpath"),
        sa.func.jsonb_build_object("k", o.c.stage_key))
    limit_days = sa.cast(sa.cast(stage_elem, sa.Text), sa.Integer)
    overdue = o.c.expected_close_date < today
    stalled = o.c.stage_enter_time < now - sa.func.make_interval(0, 0, 0, limit_days)
    stmt = (sa.select(o.c.owner_id, sa.func.count().filter(overdue), sa.func.count().filter(stalled))
            .select_from(o.join(s, _stage_join))
            .where(s.c.category == "open", ACTIVE, o.c.owner_id.is_not(None), *where)
            .group_by(o.c.owner_id)
            .having(sa.or_(sa.func.count().filter(overdue) > 0, sa.func.count().filter(stalled) > 0))
            .order_by(sa.func.count().filter(overdue).desc(), o.c.owner_id))
    return [(owner, n_overdue, n_stalled) for owner, n_overdue, n_stalled in conn.execute(stmt)]


# --- incentive basis -------------------------------------------------------------------------------------------


def incentive_rows(conn: sa.Connection, where: list, first: date, last: date) -> list[IncentiveRow]:
    """Deals won in [first, last] with the bonus flags, read against every deal won before (visible or not:
    a bonus depends on the company's history, not on who asks)."""
    earlier = o.alias("earlier")
    es = pipeline_stages.alias("earlier_stage")
    won_before = (sa.select(sa.literal(1)).select_from(earlier.join(es, sa.and_(
        es.c.pipeline_id == earlier.c.pipeline_id, es.c.version == earlier.c.pipeline_version,
        es.c.key == earlier.c.stage_key)))
        .where(es.c.category == "won", earlier.c.registration_state == "active", earlier.c.id != o.c.id,
               sa.tuple_(earlier.c.win_date, earlier.c.id) < sa.tuple_(o.c.win_date, o.c.id)))
    new_customer = sa.and_(o.c.customer_key != "",
                           ~won_before.where(earlier.c.customer_key == o.c.customer_key).exists())
    line = sa.func.unnest(o.c.product_lines).table_valued("line").render_derived()
    new_product = (sa.select(sa.literal(1)).select_from(line)
                   .where(~won_before.where(line.c.line == sa.any_(earlier.c.product_lines)).exists()).exists())
    stmt = (sa.select(o.c.id, o.c.owner_id, o.c.win_date, _amount, o.c.currency, o.c.difficulty, new_customer,
                      new_product)
            .select_from(o.join(s, _stage_join))
            .where(s.c.category == "won", o.c.win_date >= first, o.c.win_date <= last, ACTIVE, *where)
            .order_by(o.c.owner_id, o.c.win_date, o.c.id))
    return [IncentiveRow(*row) for row in conn.execute(stmt)]


# --- source value ----------------------------------------------------------------------------------------------


def source_value(conn: sa.Connection, where: list, first: date, last: date, start: datetime, end: datetime
                 ) -> list[SourceRow]:
    """Per source: deals registered in [start, end), won in [first, last], lost in [start, end)."""
    registered = sa.and_(o.c.create_time >= start, o.c.create_time < end)
    won = sa.and_(s.c.category == "won", o.c.win_date >= first, o.c.win_date <= last)
    lost = sa.and_(s.c.category == "lost", o.c.stage_enter_time >= start, o.c.stage_enter_time < end)
    from_lead = o.c.lead_id.is_not(None)

    def amount(condition: sa.ColumnElement[bool]) -> sa.ColumnElement:
        return sa.func.coalesce(sa.func.sum(_amount).filter(condition), _ZERO)

    stmt = (sa.select(o.c.source, sa.func.count().filter(registered), sa.func.count().filter(won), amount(won),
                      sa.func.count().filter(lost), sa.func.count().filter(sa.and_(won, from_lead)),
                      amount(sa.and_(won, from_lead)), sa.func.count().filter(sa.and_(won, ~from_lead)),
                      amount(sa.and_(won, ~from_lead)))
            .select_from(o.join(s, _stage_join))
            .where(sa.or_(registered, won, lost), ACTIVE, *where).group_by(o.c.source))
    return [SourceRow(*row) for row in conn.execute(stmt)]
