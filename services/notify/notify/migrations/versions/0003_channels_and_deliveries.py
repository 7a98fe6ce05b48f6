"""delivery channels: preferences, department robots, deliveries, contacts, the organisation projection

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("notice_type", sa.Text, nullable=False, server_default=""))
    op.create_index("notifications_unread", "notifications", ["recipient_id"], postgresql_where=sa.text("NOT read"))
    op.create_table(
        "preferences",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("locale", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False, server_default=""),
        sa.Column("rules", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("quiet_start", sa.Time),
        sa.Column("quiet_end", sa.Time),
        sa.Column("digest_time", sa.Time, nullable=False),
        sa.Column("robots", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("etag", sa.Integer, nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "department_robots",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("department_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False, server_default=""),
        sa.Column("keywords", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("notice_types", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("department_robots_department", "department_robots", ["department_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("source_event_id", sa.Text, nullable=False),
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
        sa.UniqueConstraint("source_event_id", "recipient", "channel", name="deliveries_event_recipient_channel_key"),
    )
    op.create_index("deliveries_due", "deliveries", ["channel", "next_attempt_time"],
                    postgresql_where=sa.text("state = 'PENDING'"))
    op.create_index("deliveries_dead", "deliveries", [sa.text("create_time DESC"), "id"],
                    postgresql_where=sa.text("state = 'DEAD'"))
    op.create_index("deliveries_rate", "deliveries", ["endpoint_key", "sent_time"],
                    postgresql_where=sa.text("state = 'SENT'"))
    op.create_table(
        "contacts",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("email", sa.Text, nullable=False, server_default=""),
        sa.Column("display_name", sa.Text, nullable=False, server_default=""),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "org_users",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("department_id", sa.Text),
        sa.Column("roles", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("org_users_department", "org_users", ["department_id"])
    op.create_table(
        "org_departments",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("parent_id", sa.Text),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("head_id", sa.Text),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("org_departments_head", "org_departments", ["head_id"])
    op.create_index("org_departments_path", "org_departments", ["path"], postgresql_ops={"path": "text_pattern_ops"})


def downgrade() -> None:
    for table in ("org_departments", "org_users", "contacts", "deliveries", "department_robots", "preferences"):
        op.drop_table(table)
    op.drop_index("notifications_unread", "notifications")
    op.drop_column("notifications", "notice_type")
