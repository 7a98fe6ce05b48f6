"""alerts: alerts_sent (each alert once per deal, kind and condition) and the big-deal threshold setting

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts_sent",
        sa.Column("opportunity_id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("condition_key", sa.Text, primary_key=True),
        sa.Column("send_time", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('close_date_approaching', 'close_date_passed', 'stalled', 'big_deal')",
                           name="alerts_sent_kind"),
    )
    op.add_column("registration_settings", sa.Column("big_deal_threshold", sa.Numeric(18, 2)))
    op.create_check_constraint("registration_settings_big_deal_threshold", "registration_settings",
                               "big_deal_threshold IS NULL OR big_deal_threshold >= 0")


def downgrade() -> None:
    op.drop_constraint("registration_settings_big_deal_threshold", "registration_settings", type_="check")
    op.drop_column("registration_settings", "big_deal_threshold")
    op.drop_table("alerts_sent")
