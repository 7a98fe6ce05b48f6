"""customers and contacts, scoring and qualification, campaigns and won deals, settings, away reps

Revision ID: 0005
Revises: 0004

Additive. Existing leads start UNQUALIFIED with score 0, scored with the first scoring settings
(version 1: no attribute rules, no behaviours recorded yet, so 0 is their score); a change of the
scoring settings makes every open lead stale, and the worker rescores them in batches.
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_UUID = pg.UUID(as_uuid=False)
_TS = sa.DateTime(timezone=True)
BEHAVIOUR_POINTS = {"visit": 10, "reply": 15, "email_open": 2, "webinar": 10, "follow_up": 5}
GRADES = [["A", "strategic: large, high potential"], ["B", "growth: medium potential"],
          ["C", "maintain: small or low potential"]]


def upgrade() -> None:
    for column in (sa.Column("customer_id", _UUID), sa.Column("campaign_id", _UUID),
                   sa.Column("contact_title", sa.Text, nullable=False, server_default=""),
                   sa.Column("company_size", sa.Text, nullable=False, server_default=""),
                   sa.Column("flags", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
                   sa.Column("notes", sa.Text, nullable=False, server_default=""),
                   sa.Column("behaviour_counts", pg.JSONB, nullable=False, server_default="{}"),
                   sa.Column("score", sa.Integer, nullable=False, server_default="0"),
                   sa.Column("score_parts", pg.JSONB, nullable=False, server_default="[]"),
                   sa.Column("qualification", sa.Text, nullable=False, server_default="UNQUALIFIED"),
                   sa.Column("scored_with", sa.Integer, nullable=False, server_default="1")):
        op.add_column("leads", column)
    op.create_index("leads_campaign", "leads", ["campaign_id"], postgresql_where=sa.text("campaign_id IS NOT NULL"))
    op.create_index("leads_scored_with", "leads", ["scored_with"], postgresql_where=sa.text("state = 'OPEN'"))

    op.create_table(
        "customers",
        sa.Column("id", _UUID, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("region", sa.Text, nullable=False, server_default=""),
        sa.Column("industry", sa.Text, nullable=False, server_default=""),
        sa.Column("size", sa.Text, nullable=False, server_default=""),
        sa.Column("grade", sa.Text, nullable=False, server_default=""),
        sa.Column("owner_id", _UUID, nullable=False),
        sa.Column("name_key", sa.Text, nullable=False),
        sa.Column("region_key", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("chain_revision", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("request_id", sa.Text, unique=True),
        sa.Column("create_time", _TS, nullable=False),
        sa.Column("update_time", _TS, nullable=False),
    )
    # One customer per company within a region: conversions of the same company join it.
    op.create_index("customers_name_region", "customers", ["name_key", "region_key"], unique=True)
    op.create_index("customers_owner_create_time", "customers", ["owner_id", "create_time"])
    op.create_index("customers_create_time", "customers", [sa.text("create_time DESC"), "id"])

    op.create_table(
        "contacts",
        sa.Column("id", _UUID, primary_key=True),
        sa.Column("customer_id", _UUID, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("phone", sa.Text, nullable=False, server_default=""),
        sa.Column("email", sa.Text, nullable=False, server_default=""),
        sa.Column("buying_role", sa.Text, nullable=False, server_default=""),
        sa.Column("attitude", sa.Text, nullable=False, server_default=""),
        sa.Column("satisfaction", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lead_id", _UUID),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("request_id", sa.Text, unique=True),
        sa.Column("create_time", _TS, nullable=False),
        sa.Column("update_time", _TS, nullable=False),
    )
    op.create_index("contacts_customer_create_time", "contacts", ["customer_id", "create_time", "id"])

    op.create_table(
        "lead_behaviours",
        sa.Column("id", _UUID, primary_key=True),
        sa.Column("lead_id", _UUID, sa.ForeignKey("leads.id"), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("occur_time", _TS, nullable=False),
        sa.Column("recorded_by", _UUID, nullable=False),
        sa.Column("request_id", sa.Text, unique=True),
        sa.Column("create_time", _TS, nullable=False),
    )
    op.create_index("lead_behaviours_lead", "lead_behaviours", ["lead_id", "occur_time"])

    op.create_table(
        "campaigns",
        sa.Column("id", _UUID, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("cost", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("start_date", sa.Date),
        sa.Column("end_date", sa.Date),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("request_id", sa.Text, unique=True),
        sa.Column("create_time", _TS, nullable=False),
        sa.Column("update_time", _TS, nullable=False),
    )
    op.create_index("campaigns_create_time", "campaigns", [sa.text("create_time DESC"), "id"])

    # Deals from converted leads as opportunities last told us (won or not): the report's won amount.
    op.create_table(
        "opportunity_outcomes",
        sa.Column("opportunity", sa.Text, primary_key=True),
        sa.Column("lead_id", _UUID, nullable=False),
        sa.Column("won", sa.Boolean, nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("change_time", _TS, nullable=False),
    )
    op.create_index("opportunity_outcomes_lead", "opportunity_outcomes", ["lead_id"])

    op.add_column("reps", sa.Column("away", sa.Boolean, nullable=False, server_default="false"))

    for column in (sa.Column("scoring_rules", pg.JSONB, nullable=False, server_default="[]"),
                   sa.Column("behaviour_points", pg.JSONB, nullable=False,
                             server_default=sa.text(f"'{json.dumps(BEHAVIOUR_POINTS)}'::jsonb")),
                   sa.Column("mql_threshold", sa.Integer, nullable=False, server_default="30"),
                   sa.Column("sql_threshold", sa.Integer, nullable=False, server_default="60"),
                   sa.Column("sql_requires", pg.ARRAY(sa.Text), nullable=False, server_default="{phone}"),
                   sa.Column("convert_requires", sa.Text, nullable=False, server_default=""),
                   sa.Column("customer_grades", pg.JSONB, nullable=False,
                             server_default=sa.text(f"'{json.dumps(GRADES)}'::jsonb")),
                   sa.Column("version", sa.Integer, nullable=False, server_default="1"),
                   sa.Column("scoring_version", sa.Integer, nullable=False, server_default="1")):
        op.add_column("pool_settings", column)


def downgrade() -> None:
    for column in ("scoring_version", "version", "customer_grades", "convert_requires", "sql_requires", "sql_threshold",
                   "mql_threshold", "behaviour_points", "scoring_rules"):
        op.drop_column("pool_settings", column)
    op.drop_column("reps", "away")
    for table in ("opportunity_outcomes", "campaigns", "lead_behaviours", "contacts", "customers"):
        op.drop_table(table)
    op.drop_index("leads_scored_with", table_name="leads")
    op.drop_index("leads_campaign", table_name="leads")
    for column in ("scored_with", "qualification", "score_parts", "score", "behaviour_counts", "notes", "flags",
                   "company_size", "contact_title", "campaign_id", "customer_id"):
        op.drop_column("leads", column)
