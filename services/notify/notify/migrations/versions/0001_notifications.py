"""notifications, outbox and inbox

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.migrate import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("recipient_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("read", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_time", sa.DateTime(timezone=True)),
        sa.Column("source_event_id", sa.Text, unique=True),
    )
    op.create_index("notifications_recipient", "notifications", ["recipient_id", sa.text("create_time DESC"), "id"])
    create_messaging_tables(op.get_bind())


def downgrade() -> None:
    drop_messaging_tables(op.get_bind())
    op.drop_table("notifications")
