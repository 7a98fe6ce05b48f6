"""de-duplication: key columns and indexes on leads, dedupe_mode, lead_merges

Revision ID: 0004
Revises: 0003

Additive. Existing leads get their company and region keys computed here by the domain's own
functions (so the keys are the ones new leads get), in batches.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from leads.domain.dedupe import company_key, region_key

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("leads", sa.Column("company_key", sa.Text, nullable=False, server_default=""))
    op.add_column("leads", sa.Column("region_key", sa.Text, nullable=False, server_default=""))
    op.add_column("leads", sa.Column("duplicate_of", pg.UUID(as_uuid=False)))
    op.add_column("pool_settings", sa.Column("dedupe_mode", sa.Text, nullable=False, server_default="flag"))
    op.create_check_constraint("pool_settings_dedupe_mode", "pool_settings", "dedupe_mode IN ('merge', 'flag')")
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, company, region FROM leads")).all()
    update = sa.text("UPDATE leads SET company_key = :ck, region_key = :rk WHERE id = :id")
    for start in range(0, len(rows), 1000):
        bind.execute(update, [{"id": r.id, "ck": company_key(r.company), "rk": region_key(r.region)}
                              for r in rows[start:start + 1000]])
    op.create_index("leads_dedupe_phone", "leads", ["phone"], postgresql_where=sa.text("phone <> ''"))
    op.create_index("leads_dedupe_email", "leads", ["email"], postgresql_where=sa.text("email <> ''"))
    op.create_index("leads_dedupe_company", "leads", ["company_key", "region_key"],
                    postgresql_where=sa.text("company_key <> ''"))
    op.create_table(
        "lead_merges",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("lead_id", pg.UUID(as_uuid=False), sa.ForeignKey("leads.id"), nullable=False),
        sa.Column("request_id", sa.Text, unique=True),
        sa.Column("matched_on", sa.Text, nullable=False),
        sa.Column("filled", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("incoming", pg.JSONB, nullable=False),
        sa.Column("merged_by", pg.UUID(as_uuid=False)),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("lead_merges_lead", "lead_merges", ["lead_id"])


def downgrade() -> None:
    op.drop_table("lead_merges")
    for index in ("leads_dedupe_company", "leads_dedupe_email", "leads_dedupe_phone"):
        op.drop_index(index, table_name="leads")
    op.drop_constraint("pool_settings_dedupe_mode", "pool_settings")
    op.drop_column("pool_settings", "dedupe_mode")
    for column in ("duplicate_of", "region_key", "company_key"):
        op.drop_column("leads", column)
