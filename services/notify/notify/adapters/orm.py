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
    sa.Column("source_event_id", sa.Text),
    # One notice per source event and recipient, even if the inbox row were ever purged.
    sa.UniqueConstraint("source_event_id", "recipient_id", name="notifications_source_event_recipient_key"),
    sa.Index("notifications_recipient", "recipient_id", sa.text("create_time DESC"), "id"),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
