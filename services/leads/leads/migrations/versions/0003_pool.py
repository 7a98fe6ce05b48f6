"""pool: unassigned leads, pool settings, follow-ups, recycle bookkeeping, reps for assignment rules

Revision ID: 0003
Revises: 0002

Additive: owner_id becomes nullable (NULL = in the pool) and new columns have defaults or are NULL.
Open leads already held start their holding at the migration, so the recycle rules give them a full
window instead of recycling every old lead on the worker's first tick.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DEFAULT_REASONS = ["unreachable", "no_need", "duplicate", "wrong_contact", "other"]


def upgrade() -> None:
    op.alter_column("leads", "owner_id", nullable=True)
    op.add_column("leads", sa.Column("industry", sa.Text, nullable=False, server_default=""))
    op.add_column("leads", sa.Column("hold_time", sa.DateTime(timezone=True)))
    op.add_column("leads", sa.Column("last_follow_up_time", sa.DateTime(timezone=True)))
    op.add_column("leads", sa.Column("first_response_time", sa.Interval))
    op.add_column("leads", sa.Column("previous_owner_id", pg.UUID(as_uuid=False)))
    op.add_column("leads", sa.Column("reclaim_barred_until", sa.DateTime(timezone=True)))
    op.add_column("leads", sa.Column("recycle_warned_for", sa.DateTime(timezone=True)))
    op.execute("UPDATE leads SET hold_time = now() WHERE state = 'OPEN'")
    op.create_index("leads_pool_create_time", "leads", [sa.text("create_time DESC"), "id"],
                    postgresql_where=sa.text("owner_id IS NULL"))
    op.create_index("leads_holding", "leads", ["hold_time"],
                    postgresql_where=sa.text("state = 'OPEN' AND owner_id IS NOT NULL"))
    settings = op.create_table(
        "pool_settings",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("claim_cap", sa.Integer, nullable=False),
        sa.Column("return_reasons", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("recycle_after_days_without_follow_up", sa.Integer, nullable=False),
        sa.Column("recycle_after_days_unconverted", sa.Integer, nullable=False),
        sa.Column("reclaim_bar_days", sa.Integer, nullable=False),
    )
    op.bulk_insert(settings, [{"company": "default", "claim_cap": 50, "return_reasons": DEFAULT_REASONS,
                               "recycle_after_days_without_follow_up": 7, "recycle_after_days_unconverted": 30,
                               "reclaim_bar_days": 3}])
    op.create_table(
        "follow_ups",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("lead_id", pg.UUID(as_uuid=False), sa.ForeignKey("leads.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("author_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("follow_ups_lead_create_time", "follow_ups", ["lead_id", "create_time"])
    op.create_table(
        "reps",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("territories", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("expertise", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("capacity", sa.Integer, nullable=False, server_default="0"),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_assigned_time", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("reps")
    op.drop_table("follow_ups")
    op.drop_table("pool_settings")
    op.drop_index("leads_holding", table_name="leads")
    op.drop_index("leads_pool_create_time", table_name="leads")
    for column in ("recycle_warned_for", "reclaim_barred_until", "previous_owner_id", "first_response_time",
                   "last_follow_up_time", "hold_time", "industry"):
        op.drop_column("leads", column)
    # owner_id stays nullable: pool leads may exist, and deleting them would lose data.
