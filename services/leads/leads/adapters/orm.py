"""The leads database schema (SQLAlchemy Core). Migrations in ``leads/migrations`` create it."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table
from shangji_kit.visibility import org_tables

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
    # ListLeads for a caller who sees everything: newest first, in keyset order.
    sa.Index("leads_create_time", sa.text("create_time DESC"), "id"),
)


# Who owned a lead before and after each handover (OwnershipTransferred); a transfer moves a lead once.
owner_changes = sa.Table(
    "owner_changes",
    metadata,
    sa.Column("lead_id", pg.UUID(as_uuid=False), sa.ForeignKey("leads.id"), primary_key=True),
    sa.Column("transfer_id", sa.Text, primary_key=True),
    sa.Column("from_owner_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("to_owner_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("change_time", sa.DateTime(timezone=True), nullable=False),
)

org = org_tables(metadata)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
