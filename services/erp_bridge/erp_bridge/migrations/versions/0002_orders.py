"""order jobs, mapping tables, teams' organisation

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.migrate import create_org_projection, drop_org_projection

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("reference", sa.Text, nullable=False, unique=True),
        sa.Column("source_kind", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_time", sa.DateTime(timezone=True)),
        sa.Column("erp_order_number", sa.Text, nullable=False, server_default=""),
        sa.Column("erp_state", sa.Text, nullable=False, server_default=""),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'confirmed', 'dead_letter')", name="jobs_state"),
    )
    op.create_index("jobs_due", "jobs", ["next_attempt_time"], postgresql_where=sa.text("state = 'pending'"))
    op.create_index("jobs_listing", "jobs", ["create_time", "id"])
    op.create_table(
        "product_mappings",
        sa.Column("product", sa.Text, primary_key=True),
        sa.Column("erp_product_code", sa.Text, nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "customer_mappings",
        sa.Column("customer", sa.Text, primary_key=True),
        sa.Column("erp_party_code", sa.Text, nullable=False),
        sa.Column("derived", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    create_org_projection(op.get_bind())


def downgrade() -> None:
    drop_org_projection(op.get_bind())
    op.drop_table("customer_mappings")
    op.drop_table("product_mappings")
    op.drop_table("jobs")
