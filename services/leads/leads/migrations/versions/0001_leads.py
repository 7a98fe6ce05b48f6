"""leads, outbox and inbox

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
        "leads",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("contact_name", sa.Text, nullable=False),
        sa.Column("phone", sa.Text, nullable=False, server_default=""),
        sa.Column("email", sa.Text, nullable=False, server_default=""),
        sa.Column("region", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("owner_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="OPEN"),
        sa.Column("convert_time", sa.DateTime(timezone=True)),
        sa.Column("request_id", sa.Text, unique=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("leads_owner_create_time", "leads", ["owner_id", "create_time"])
    create_messaging_tables(op.get_bind())


def downgrade() -> None:
    drop_messaging_tables(op.get_bind())
    op.drop_table("leads")
