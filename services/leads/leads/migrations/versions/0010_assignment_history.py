"""assignment history: every change of a lead's holder, with actor, kind, reason, rules and time

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_assignments",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("lead_id", pg.UUID(as_uuid=False), sa.ForeignKey("leads.id"), nullable=False),
        sa.Column("previous_owner_id", pg.UUID(as_uuid=False)),
        sa.Column("new_owner_id", pg.UUID(as_uuid=False)),
        sa.Column("actor_id", pg.UUID(as_uuid=False)),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("rules", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("change_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("lead_assignments_lead_time", "lead_assignments",
                    ["lead_id", sa.text("change_time DESC"), "id"])
    # The handovers recorded before this history existed are its first entries (teams' transfers had no actor
    # here either).
    op.execute("INSERT INTO lead_assignments (id, lead_id, previous_owner_id, new_owner_id, kind, change_time) "
               "SELECT gen_random_uuid(), lead_id, from_owner_id, to_owner_id, 'handover', change_time "
               "FROM owner_changes")


def downgrade() -> None:
    op.drop_table("lead_assignments")
