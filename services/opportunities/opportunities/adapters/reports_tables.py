"""The tables reports keep: targets, weekly forecast snapshots and win reasons (migration 0010), and the deal
counts per stage that triggers keep on write (0017)."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from opportunities.adapters.orm import metadata

_UUID = pg.UUID(as_uuid=False)
_TIME = sa.DateTime(timezone=True)

# Quotas per rep ('user') or department per month, quarter or year; one per subject and period.
targets = sa.Table(
    "targets",
    metadata,
    sa.Column("id", _UUID, primary_key=True),
    sa.Column("subject_kind", sa.Text, nullable=False),
    sa.Column("subject_id", sa.Text, nullable=False),
    sa.Column("period_type", sa.Text, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("amount", sa.Numeric(18, 2), nullable=False),
    # The department target a rep's share was split from.
    sa.Column("split_from", _UUID),
    sa.Column("set_by", _UUID, nullable=False),
    sa.Column("update_time", _TIME, nullable=False),
    sa.UniqueConstraint("subject_kind", "subject_id", "period_type", "start_date", name="targets_subject_period"),
)

# One row per week a snapshot was taken: claimed first, so the snapshot is taken once per week whatever the
# number of workers or timer ticks.
forecast_weeks = sa.Table(
    "forecast_weeks",
    metadata,
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("take_time", _TIME, nullable=False),
)

# The open pipeline of each week, per owner, pipeline and expected close month.
forecast_snapshots = sa.Table(
    "forecast_snapshots",
    metadata,
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("owner_id", _UUID, primary_key=True),
    sa.Column("pipeline_id", _UUID, primary_key=True),
    sa.Column("close_month", sa.Date, primary_key=True),
    sa.Column("open_count", sa.Integer, nullable=False),
    sa.Column("pipeline_amount", sa.Numeric(20, 2), nullable=False),
    sa.Column("weighted_amount", sa.Numeric(20, 2), nullable=False),
    sa.Column("commit_amount", sa.Numeric(20, 2), nullable=False),
    sa.Column("best_case_amount", sa.Numeric(20, 2), nullable=False),
)

# Why a deal was won, and whom it beat (WinOpportunity's reason and competitors_beaten); the latest win.
win_reasons = sa.Table(
    "win_reasons",
    metadata,
    sa.Column("opportunity_id", _UUID, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("competitors_beaten", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("win_time", _TIME, nullable=False),
)

# Active deals and their amount per (pipeline, stage, owner), kept by triggers on ``opportunities`` (0017).
report_stage_counts = sa.Table(
    "report_stage_counts",
    metadata,
    sa.Column("owner_id", _UUID),
    sa.Column("pipeline_id", _UUID, nullable=False),
    sa.Column("stage_key", sa.Text, nullable=False),
    sa.Column("deals", sa.BigInteger, nullable=False),
    sa.Column("amount", sa.Numeric(24, 2), nullable=False),
)

# Active open deals with a close date per (pipeline, close month, owner), kept by a trigger (migration 0017). The sums
# are unconstrained numeric: a weighted term has more places than an amount, and the kept sum must equal the report's.
report_forecast_sums = sa.Table(
    "report_forecast_sums",
    metadata,
    sa.Column("owner_id", _UUID),
    sa.Column("pipeline_id", _UUID, nullable=False),
    sa.Column("close_month", sa.Date, nullable=False),
    sa.Column("deals", sa.BigInteger, nullable=False),
    sa.Column("amount", sa.Numeric, nullable=False),
    sa.Column("weighted", sa.Numeric, nullable=False),
    sa.Column("commit_amount", sa.Numeric, nullable=False),
    sa.Column("best_case_amount", sa.Numeric, nullable=False),
)
