"""audit trail: opportunity_changes, one row per change to a deal's fields (who, when, kind, old and new, reason)

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opportunity_changes",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("opportunity_id", pg.UUID(as_uuid=False), sa.ForeignKey("opportunities.id"), nullable=False),
        sa.Column("actor_id", pg.UUID(as_uuid=False)),
        sa.Column("change_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("changes", pg.JSONB, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
    )
    # ListOpportunityChanges walks one deal's trail newest first.
    op.create_index("opportunity_changes_deal", "opportunity_changes",
                    ["opportunity_id", sa.text("change_time DESC"), "id"])


def downgrade() -> None:
    op.drop_table("opportunity_changes")
