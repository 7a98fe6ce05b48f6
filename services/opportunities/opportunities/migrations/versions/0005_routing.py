"""routing: ordered routing rules; deals without an owner wait in the assignment queue (unassigned)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_rules",
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("region", sa.Text, nullable=False, server_default=""),
        sa.Column("product_line", sa.Text, nullable=False, server_default=""),
        sa.Column("amount_min", sa.Numeric(18, 2)),
        sa.Column("amount_max", sa.Numeric(18, 2)),
        sa.Column("owner_id", pg.UUID(as_uuid=False), nullable=False),
        sa.CheckConstraint("region <> '' OR product_line <> '' OR amount_min IS NOT NULL OR amount_max IS NOT NULL",
                           name="routing_rules_condition"),
        sa.CheckConstraint("amount_min IS NULL OR amount_max IS NULL OR amount_min < amount_max",
                           name="routing_rules_band"),
    )
    op.alter_column("opportunities", "owner_id", nullable=True)
    op.drop_constraint("opportunities_registration_state", "opportunities", type_="check")
    op.create_check_constraint("opportunities_registration_state", "opportunities",
                               "registration_state IN ('active', 'pending_arbitration', 'rejected', 'unassigned')")
    op.create_check_constraint("opportunities_owner", "opportunities",
                               "(owner_id IS NULL) = (registration_state = 'unassigned')")
    op.create_index("opportunities_unassigned", "opportunities", [sa.text("create_time DESC"), "id"],
                    postgresql_where=sa.text("owner_id IS NULL"))


def downgrade() -> None:
    op.drop_index("opportunities_unassigned", "opportunities")
    op.drop_constraint("opportunities_owner", "opportunities", type_="check")
    op.drop_constraint("opportunities_registration_state", "opportunities", type_="check")
    op.create_check_constraint("opportunities_registration_state", "opportunities",
                               "registration_state IN ('active', 'pending_arbitration', 'rejected')")
    op.alter_column("opportunities", "owner_id", nullable=False)
    op.drop_table("routing_rules")
