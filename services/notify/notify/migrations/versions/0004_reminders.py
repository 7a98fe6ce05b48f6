"""reminders due later: follow-up cadence, tasks due and overdue, stalled-deal escalation

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("notice_type", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("recipient_id", sa.Text, nullable=False),
        sa.Column("escalate", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("due_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("facts", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("state", sa.Text, nullable=False, server_default="PENDING"),
        sa.UniqueConstraint("notice_type", "subject", "recipient_id", "due_time", name="reminders_once_key"),
    )
    op.create_index("reminders_due", "reminders", ["due_time"], postgresql_where=sa.text("state = 'PENDING'"))
    op.create_index("reminders_subject", "reminders", ["subject"])


def downgrade() -> None:
    op.drop_table("reminders")
