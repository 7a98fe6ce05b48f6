"""visibility: teams' organisation projection, opportunity teams, owner history, newest-first index

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
        "team_members",
        sa.Column("opportunity_id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("can_edit", sa.Boolean, nullable=False),
        sa.Column("add_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("team_members_user", "team_members", ["user_id"])
    op.create_table(
        "owner_changes",
        sa.Column("opportunity_id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("transfer_id", sa.Text, primary_key=True),
        sa.Column("from_owner_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("to_owner_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("change_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("opportunities_recent", "opportunities", [sa.text("create_time DESC"), "id"])


def downgrade() -> None:
    op.drop_index("opportunities_recent", table_name="opportunities")
    op.drop_table("owner_changes")
    op.drop_table("team_members")
    drop_org_projection(op.get_bind())
