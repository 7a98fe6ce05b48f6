"""reports: targets (quotas), weekly forecast snapshots, win reasons, and the indexes the reports read by

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_UUID = pg.UUID(as_uuid=False)
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("id", _UUID, primary_key=True),
        sa.Column("subject_kind", sa.Text, nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("period_type", sa.Text, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("split_from", _UUID),
        sa.Column("set_by", _UUID, nullable=False),
        sa.Column("update_time", _TIME, nullable=False),
        sa.CheckConstraint("subject_kind IN ('user', 'department')", name="targets_subject_kind"),
        sa.CheckConstraint("period_type IN ('month', 'quarter', 'year')", name="targets_period_type"),
        sa.CheckConstraint("amount >= 0", name="targets_amount"),
        sa.UniqueConstraint("subject_kind", "subject_id", "period_type", "start_date", name="targets_subject_period"),
    )
    op.create_table(
        "forecast_weeks",
        sa.Column("week_start", sa.Date, primary_key=True),
        sa.Column("take_time", _TIME, nullable=False),
    )
    op.create_table(
        "forecast_snapshots",
        sa.Column("week_start", sa.Date, sa.ForeignKey("forecast_weeks.week_start"), primary_key=True),
        sa.Column("owner_id", _UUID, primary_key=True),
        sa.Column("pipeline_id", _UUID, primary_key=True),
        sa.Column("close_month", sa.Date, primary_key=True),
        sa.Column("open_count", sa.Integer, nullable=False),
        sa.Column("pipeline_amount", sa.Numeric(20, 2), nullable=False),
        sa.Column("weighted_amount", sa.Numeric(20, 2), nullable=False),
        sa.Column("commit_amount", sa.Numeric(20, 2), nullable=False),
        sa.Column("best_case_amount", sa.Numeric(20, 2), nullable=False),
        sa.Index("forecast_snapshots_close_month", "close_month", "owner_id"),
    )
    op.create_table(
        "win_reasons",
        sa.Column("opportunity_id", _UUID, sa.ForeignKey("opportunities.id"), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("competitors_beaten", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("win_time", _TIME, nullable=False),
    )
    # Covering, partial indexes the reports aggregate from without reading the deals' rows (index-only scans
    # once vacuumed): owner_id and id are there for the visibility rule (owner, department tree, team).
    active = sa.text("registration_state = 'active'")
    op.create_index("opportunities_report_stage", "opportunities", ["pipeline_id", "stage_key"],
                    postgresql_include=["owner_id", "id", "amount"], postgresql_where=active)
    op.create_index("opportunities_report_close", "opportunities", ["expected_close_date"],
                    postgresql_include=["owner_id", "id", "amount", "probability", "pipeline_id", "pipeline_version",
                                        "stage_key"],
                    postgresql_where=sa.text("registration_state = 'active' AND expected_close_date IS NOT NULL"))
    op.create_index("opportunities_report_win", "opportunities", ["win_date"],
                    postgresql_include=["owner_id", "id", "amount", "pipeline_id", "pipeline_version", "stage_key",
                                        "create_time"],
                    postgresql_where=sa.text("registration_state = 'active' AND win_date IS NOT NULL"))
    op.create_index("stage_history_enter_time", "stage_history", ["enter_time"],
                    postgresql_include=["opportunity_id", "stage_key", "id"])
    op.create_index("stage_history_exit_time", "stage_history", ["exit_time"],
                    postgresql_include=["opportunity_id", "stage_key", "enter_time"],
                    postgresql_where=sa.text("exit_time IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("stage_history_exit_time", "stage_history")
    op.drop_index("stage_history_enter_time", "stage_history")
    op.drop_index("opportunities_report_win", "opportunities")
    op.drop_index("opportunities_report_close", "opportunities")
    op.drop_index("opportunities_report_stage", "opportunities")
    op.drop_table("win_reasons")
    op.drop_table("forecast_snapshots")
    op.drop_table("forecast_weeks")
    op.drop_table("targets")
