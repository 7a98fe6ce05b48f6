"""deal collections: customer, difficulty, quote lines; decision chain (per deal and customers' latest), requirement
items, document versions, samples seen, activities, tasks, checklist completions

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=False)
TIME = sa.DateTime(timezone=True)


def _deal() -> sa.Column:
    return sa.Column("opportunity_id", UUID, sa.ForeignKey("opportunities.id"), nullable=False)


def upgrade() -> None:
    op.add_column("opportunities", sa.Column("customer_id", UUID))
    op.add_column("opportunities", sa.Column("difficulty", sa.Numeric(8, 3), nullable=False, server_default="1"))
    op.add_column("opportunities", sa.Column("quote_lines", pg.JSONB, nullable=False, server_default="[]"))
    op.create_check_constraint("opportunities_difficulty", "opportunities", "difficulty > 0")
    op.create_table(
        "deal_contacts",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        _deal(),
        sa.Column("contact_id", UUID),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("phone", sa.Text, nullable=False, server_default=""),
        sa.Column("email", sa.Text, nullable=False, server_default=""),
        sa.Column("buying_role", sa.Text, nullable=False, server_default=""),
        sa.Column("attitude", sa.Text, nullable=False, server_default=""),
        sa.Column("satisfaction", sa.Integer, nullable=False, server_default="0"),
        sa.Column("create_time", TIME, nullable=False),
        sa.Column("update_time", TIME, nullable=False),
        sa.CheckConstraint("satisfaction BETWEEN 0 AND 5", name="deal_contacts_satisfaction"),
        sa.Index("deal_contacts_opportunity", "opportunity_id", "seq"),
    )
    op.create_table(
        "customer_chains",
        sa.Column("customer_id", UUID, primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("contacts", pg.JSONB, nullable=False),
        sa.Column("change_time", TIME),
    )
    op.create_table(
        "requirements",
        sa.Column("id", UUID, primary_key=True),
        _deal(),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("priority", sa.Text, nullable=False, server_default="medium"),
        sa.Column("answer", sa.Text, nullable=False, server_default=""),
        sa.Column("create_time", TIME, nullable=False),
        sa.Column("update_time", TIME, nullable=False),
        sa.CheckConstraint("priority IN ('high', 'medium', 'low')", name="requirements_priority"),
        sa.Index("requirements_opportunity", "opportunity_id", "create_time"),
    )
    op.create_table(
        "document_versions",
        sa.Column("opportunity_id", UUID, sa.ForeignKey("opportunities.id"), primary_key=True),
        sa.Column("document", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("author_id", UUID, nullable=False),
        sa.Column("create_time", TIME, nullable=False),
    )
    op.create_table(
        "samples_seen",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("opportunity_id", UUID, nullable=False),
        sa.Column("event_time", TIME, nullable=False),
        sa.CheckConstraint("kind IN ('approved', 'delivered')", name="samples_seen_kind"),
        sa.Index("samples_seen_opportunity", "opportunity_id"),
    )
    op.create_table(
        "activities",
        sa.Column("id", UUID, primary_key=True),
        _deal(),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("occur_time", TIME, nullable=False),
        sa.Column("author_id", UUID, nullable=False),
        sa.Column("create_time", TIME, nullable=False),
        sa.CheckConstraint("kind IN ('call', 'visit', 'email', 'meeting')", name="activities_kind"),
        sa.Index("activities_opportunity", "opportunity_id", sa.text("occur_time DESC")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", UUID, primary_key=True),
        _deal(),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("assignee_id", UUID, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("creator_id", UUID),
        sa.Column("stage_key", sa.Text, nullable=False, server_default=""),
        sa.Column("create_time", TIME, nullable=False),
        sa.Column("complete_time", TIME),
        sa.Column("completed_by", UUID),
        sa.CheckConstraint("status IN ('open', 'done')", name="tasks_status"),
        sa.Index("tasks_opportunity", "opportunity_id", "create_time"),
        sa.Index("tasks_open_assignee", "assignee_id", "due_date", postgresql_where=sa.text("status = 'open'")),
    )
    op.create_table(
        "checklist_completions",
        sa.Column("opportunity_id", UUID, sa.ForeignKey("opportunities.id"), primary_key=True),
        sa.Column("item", sa.Text, primary_key=True),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("complete_time", TIME, nullable=False),
    )


def downgrade() -> None:
    for table in ("checklist_completions", "tasks", "activities", "samples_seen", "document_versions", "requirements",
                  "customer_chains", "deal_contacts"):
        op.drop_table(table)
    op.drop_constraint("opportunities_difficulty", "opportunities", type_="check")
    for column in ("quote_lines", "difficulty", "customer_id"):
        op.drop_column("opportunities", column)
