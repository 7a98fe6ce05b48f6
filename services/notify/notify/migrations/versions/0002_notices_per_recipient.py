"""one event may notify several people: unique per (source event, recipient)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A big deal escalates to the owner and each of their managers: one event, several notices.
    op.drop_constraint("notifications_source_event_id_key", "notifications", type_="unique")
    op.create_unique_constraint("notifications_source_event_recipient_key", "notifications",
                                ["source_event_id", "recipient_id"])


def downgrade() -> None:
    op.drop_constraint("notifications_source_event_recipient_key", "notifications", type_="unique")
    op.create_unique_constraint("notifications_source_event_id_key", "notifications", ["source_event_id"])
