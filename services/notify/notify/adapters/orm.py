"""The notify database schema (SQLAlchemy Core). Migrations in ``notify/migrations`` create it."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table

metadata = sa.MetaData()

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("recipient_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False, server_default=""),
    sa.Column("read", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("read_time", sa.DateTime(timezone=True)),
    # One notification per source event, even if the inbox row were ever purged.
    sa.Column("source_event_id", sa.Text, unique=True),
    sa.Index("notifications_recipient", "recipient_id", sa.text("create_time DESC"), "id"),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
