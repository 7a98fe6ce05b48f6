"""The notify database schema (SQLAlchemy Core). Migrations in ``notify/migrations`` create it."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table
from shangji_kit.visibility import org_tables

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
    sa.Column("notice_type", sa.Text, nullable=False, server_default=""),
    # One notice per source event and recipient, even if the inbox row were ever purged.
    sa.UniqueConstraint("source_event_id", "recipient_id", name="notifications_source_event_recipient_key"),
    sa.Index("notifications_recipient", "recipient_id", sa.text("create_time DESC"), "id"),
    sa.Index("notifications_unread", "recipient_id", postgresql_where=sa.text("NOT read")),
)

preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("locale", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False, server_default=""),
    # [{"notice_type", "channels": [...], "digest"}]
    sa.Column("rules", pg.JSONB, nullable=False, server_default="[]"),
    sa.Column("quiet_start", sa.Time),
    sa.Column("quiet_end", sa.Time),
    sa.Column("digest_time", sa.Time, nullable=False),
    # [{"channel", "url", "secret", "keywords"}]
    sa.Column("robots", pg.JSONB, nullable=False, server_default="[]"),
    sa.Column("etag", sa.Integer, nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
)

department_robots = sa.Table(
    "department_robots",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("department_id", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret", sa.Text, nullable=False, server_default=""),
    sa.Column("keywords", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("notice_types", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("department_robots_department", "department_id"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("source_event_id", sa.Text, nullable=False),
    # "users/{id}" or "departments/{id}/robots/{id}"
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("notice_type", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False, server_default=""),
    sa.Column("facts", pg.JSONB, nullable=False, server_default="{}"),
    sa.Column("locale", sa.Text, nullable=False),
    sa.Column("digest", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("sent_time", sa.DateTime(timezone=True)),
    sa.Column("endpoint_key", sa.Text, nullable=False, server_default=""),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    # Exactly one delivery per (event, recipient, channel), whatever redelivers the event.
    sa.UniqueConstraint("source_event_id", "recipient", "channel", name="deliveries_event_recipient_channel_key"),
    sa.Index("deliveries_due", "channel", "next_attempt_time", postgresql_where=sa.text("state = 'PENDING'")),
    sa.Index("deliveries_dead", sa.text("create_time DESC"), "id", postgresql_where=sa.text("state = 'DEAD'")),
    sa.Index("deliveries_rate", "endpoint_key", "sent_time", postgresql_where=sa.text("state = 'SENT'")),
)

# What teams says about each user that notify needs beyond the visibility projection: where to email.
contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("email", sa.Text, nullable=False, server_default=""),
    sa.Column("display_name", sa.Text, nullable=False, server_default=""),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
)

# Reminders due later: follow-up cadence, task due/overdue, stalled-deal escalation.
reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("notice_type", sa.Text, nullable=False),
    # The record it is about; a stop (an activity, a completed task, a stage change) cancels by it.
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("recipient_id", sa.Text, nullable=False),
    # Resolved when due: the recipient's department head instead of the recipient.
    sa.Column("escalate", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("due_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("facts", pg.JSONB, nullable=False, server_default="{}"),
    sa.Column("state", sa.Text, nullable=False, server_default="PENDING"),
    sa.UniqueConstraint("notice_type", "subject", "recipient_id", "due_time", name="reminders_once_key"),
    sa.Index("reminders_due", "due_time", postgresql_where=sa.text("state = 'PENDING'")),
    sa.Index("reminders_subject", "subject"),
)

# The latest reassignment of each deal seen (opportunities' OpportunityReassigned): events may arrive out of order.
deal_owners = sa.Table(
    "deal_owners",
    metadata,
    sa.Column("deal", sa.Text, primary_key=True),
    sa.Column("owner_id", sa.Text, nullable=False),
    sa.Column("change_time", sa.DateTime(timezone=True), nullable=False),
)

org = org_tables(metadata)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
