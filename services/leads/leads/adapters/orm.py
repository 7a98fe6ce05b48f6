"""The leads database schema (SQLAlchemy Core). Migrations in ``leads/migrations`` create it."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table

metadata = sa.MetaData()

leads = sa.Table(
    "leads",
    metadata,
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
    sa.Index("leads_owner_create_time", "owner_id", "create_time"),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
