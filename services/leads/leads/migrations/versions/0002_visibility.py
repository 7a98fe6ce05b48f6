"""visibility: teams' organisation projection, handover history, list indexes

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
    create_org_projection(op.get_bind())
    op.create_table(
        "owner_changes",
        sa.Column("lead_id", pg.UUID(as_uuid=False), sa.ForeignKey("leads.id"), primary_key=True),
        sa.Column("transfer_id", sa.Text, primary_key=True),
        sa.Column("from_owner_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("to_owner_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("change_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("leads_create_time", "leads", [sa.text("create_time DESC"), "id"])


def downgrade() -> None:
    op.drop_index("leads_create_time", table_name="leads")
    op.drop_table("owner_changes")
    drop_org_projection(op.get_bind())
