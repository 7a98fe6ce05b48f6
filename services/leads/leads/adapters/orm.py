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
    # NULL: in the pool.
    sa.Column("owner_id", pg.UUID(as_uuid=False)),
    sa.Column("state", sa.Text, nullable=False, server_default="OPEN"),
    sa.Column("convert_time", sa.DateTime(timezone=True)),
    sa.Column("request_id", sa.Text, unique=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("industry", sa.Text, nullable=False, server_default=""),
    sa.Column("hold_time", sa.DateTime(timezone=True)),
    sa.Column("last_follow_up_time", sa.DateTime(timezone=True)),
    sa.Column("first_response_time", sa.Interval),
    sa.Column("previous_owner_id", pg.UUID(as_uuid=False)),
    sa.Column("reclaim_barred_until", sa.DateTime(timezone=True)),
    sa.Column("recycle_warned_for", sa.DateTime(timezone=True)),
    # De-duplication (domain/dedupe.py): the folded company name and region, and a flagged duplicate's original.
    sa.Column("company_key", sa.Text, nullable=False, server_default=""),
    sa.Column("region_key", sa.Text, nullable=False, server_default=""),
    sa.Column("duplicate_of", pg.UUID(as_uuid=False)),
    sa.Index("leads_owner_create_time", "owner_id", "create_time"),
    # ListLeads for a caller who sees everything: newest first, in keyset order.
    sa.Index("leads_create_time", sa.text("create_time DESC"), "id"),
    # The pool, newest first; and the held open leads the recycle rules scan.
    sa.Index("leads_pool_create_time", sa.text("create_time DESC"), "id", postgresql_where=sa.text("owner_id IS NULL")),
    sa.Index("leads_holding", "hold_time", postgresql_where=sa.text("state = 'OPEN' AND owner_id IS NOT NULL")),
    sa.Index("leads_dedupe_phone", "phone", postgresql_where=sa.text("phone <> ''")),
    sa.Index("leads_dedupe_email", "email", postgresql_where=sa.text("email <> ''")),
    sa.Index("leads_dedupe_company", "company_key", "region_key", postgresql_where=sa.text("company_key <> ''")),
)

# The company's pool settings: one row (company 'default'); the domain's defaults when it is missing.
pool_settings = sa.Table(
    "pool_settings",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("claim_cap", sa.Integer, nullable=False),
    sa.Column("return_reasons", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("recycle_after_days_without_follow_up", sa.Integer, nullable=False),
    sa.Column("recycle_after_days_unconverted", sa.Integer, nullable=False),
    sa.Column("reclaim_bar_days", sa.Integer, nullable=False),
    sa.Column("dedupe_mode", sa.Text, nullable=False, server_default="flag"),
)

# Incoming duplicates merged into an existing lead (dedupe_mode "merge"): what came in and what it filled.
# request_id: the create's idempotency key (or an import row's), so a retry merges nothing twice.
lead_merges = sa.Table(
    "lead_merges",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("lead_id", pg.UUID(as_uuid=False), sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("request_id", sa.Text, unique=True),
    sa.Column("matched_on", sa.Text, nullable=False),
    sa.Column("filled", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("incoming", pg.JSONB, nullable=False),
    sa.Column("merged_by", pg.UUID(as_uuid=False)),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("lead_merges_lead", "lead_id"),
)

follow_ups = sa.Table(
    "follow_ups",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("lead_id", pg.UUID(as_uuid=False), sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("author_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("follow_ups_lead_create_time", "lead_id", "create_time"),
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

# What assignment needs about each rep, from teams' user events (users teams has not described here yet
# have no row: no territories, no expertise, no limit); last_assigned_time drives the round robin.
reps = sa.Table(
    "reps",
    metadata,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("territories", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("expertise", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("capacity", sa.Integer, nullable=False, server_default="0"),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_assigned_time", sa.DateTime(timezone=True)),
)

org = org_tables(metadata)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
