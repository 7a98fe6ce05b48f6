"""The leads database schema (SQLAlchemy Core). Migrations in ``leads/migrations`` create it."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table
from shangji_kit.request_ids import request_ids_table
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
    # Qualification (domain/scoring.py) and where the lead went and came from.
    sa.Column("customer_id", pg.UUID(as_uuid=False)),
    sa.Column("campaign_id", pg.UUID(as_uuid=False)),
    sa.Column("contact_title", sa.Text, nullable=False, server_default=""),
    sa.Column("company_size", sa.Text, nullable=False, server_default=""),
    sa.Column("flags", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("behaviour_counts", pg.JSONB, nullable=False, server_default="{}"),
    sa.Column("score", sa.Integer, nullable=False, server_default="0"),
    sa.Column("score_parts", pg.JSONB, nullable=False, server_default="[]"),
    sa.Column("qualification", sa.Text, nullable=False, server_default="UNQUALIFIED"),
    # The scoring settings' version the score was computed with: older open leads are rescored by the worker.
    sa.Column("scored_with", sa.Integer, nullable=False, server_default="1"),
    sa.Index("leads_campaign", "campaign_id", postgresql_where=sa.text("campaign_id IS NOT NULL")),
    sa.Index("leads_scored_with", "scored_with", postgresql_where=sa.text("state = 'OPEN'")),
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
    # Scoring and qualification (domain/scoring.py), customer grades; version is the settings' etag.
    sa.Column("scoring_rules", pg.JSONB, nullable=False, server_default="[]"),
    sa.Column("behaviour_points", pg.JSONB, nullable=False),
    sa.Column("mql_threshold", sa.Integer, nullable=False, server_default="30"),
    sa.Column("sql_threshold", sa.Integer, nullable=False, server_default="60"),
    sa.Column("sql_requires", pg.ARRAY(sa.Text), nullable=False, server_default="{phone}"),
    sa.Column("convert_requires", sa.Text, nullable=False, server_default=""),
    sa.Column("customer_grades", pg.JSONB, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    # Moves only when the scoring settings change (leads scored with an older one are stale).
    sa.Column("scoring_version", sa.Integer, nullable=False, server_default="1"),
)

# Customers (accounts): one per folded company name within a region (name_key, region_key).
customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("region", sa.Text, nullable=False, server_default=""),
    sa.Column("industry", sa.Text, nullable=False, server_default=""),
    sa.Column("size", sa.Text, nullable=False, server_default=""),
    sa.Column("grade", sa.Text, nullable=False, server_default=""),
    sa.Column("owner_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("name_key", sa.Text, nullable=False),
    sa.Column("region_key", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("chain_revision", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("request_id", sa.Text, unique=True),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("customers_name_region", "name_key", "region_key", unique=True),
    sa.Index("customers_owner_create_time", "owner_id", "create_time"),
    sa.Index("customers_create_time", sa.text("create_time DESC"), "id"),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=False), sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("phone", sa.Text, nullable=False, server_default=""),
    sa.Column("email", sa.Text, nullable=False, server_default=""),
    sa.Column("buying_role", sa.Text, nullable=False, server_default=""),
    sa.Column("attitude", sa.Text, nullable=False, server_default=""),
    sa.Column("satisfaction", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lead_id", pg.UUID(as_uuid=False)),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("request_id", sa.Text, unique=True),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("contacts_customer_create_time", "customer_id", "create_time", "id"),
)

# Behaviours recorded against leads (the score reads their counts, kept on the lead).
lead_behaviours = sa.Table(
    "lead_behaviours",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("lead_id", pg.UUID(as_uuid=False), sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("occur_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("request_id", sa.Text, unique=True),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("lead_behaviours_lead", "lead_id", "occur_time"),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("cost", sa.Numeric(18, 2), nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("start_date", sa.Date),
    sa.Column("end_date", sa.Date),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("request_id", sa.Text, unique=True),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("campaigns_create_time", sa.text("create_time DESC"), "id"),
)

# Deals registered from converted leads, as opportunities' OpportunityWon / OpportunityReopened last
# said: the source report's won amount.
opportunity_outcomes = sa.Table(
    "opportunity_outcomes",
    metadata,
    sa.Column("opportunity", sa.Text, primary_key=True),
    sa.Column("lead_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("won", sa.Boolean, nullable=False),
    sa.Column("amount", sa.Numeric(18, 2), nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("change_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("opportunity_outcomes_lead", "lead_id"),
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

# Every change of a lead's holder (claim, return, assignment by hand or by the rules, recycle, handover, capture
# or import with an owner), written in the transaction of the change; ListLeadAssignments reads it newest first.
lead_assignments = sa.Table(
    "lead_assignments",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("lead_id", pg.UUID(as_uuid=False), sa.ForeignKey("leads.id"), nullable=False),
    # NULL: the pool.
    sa.Column("previous_owner_id", pg.UUID(as_uuid=False)),
    sa.Column("new_owner_id", pg.UUID(as_uuid=False)),
    # NULL: the system (recycling, a handover event, an operator's import).
    sa.Column("actor_id", pg.UUID(as_uuid=False)),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("rules", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("change_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("lead_assignments_lead_time", "lead_id", sa.text("change_time DESC"), "id"),
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
    # Away (leave, travel): the assignment rules skip them.
    sa.Column("away", sa.Boolean, nullable=False, server_default="false"),
)

org = org_tables(metadata)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
# Command request ids per caller (shangji_kit.request_ids), made by migration 0006.
idempotency_keys = request_ids_table(metadata)
