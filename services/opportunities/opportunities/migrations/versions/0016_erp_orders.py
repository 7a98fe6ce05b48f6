"""a won deal keeps the ERP's sales order number and when the ERP confirmed it (erp_bridge's ErpOrderConfirmed),
for Opportunity.erp_order_number and the customer timeline's "erp_order" item

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("opportunities", sa.Column("erp_order_number", sa.Text, nullable=False, server_default=""))
    op.add_column("opportunities", sa.Column("erp_order_time", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("opportunities", "erp_order_time")
    op.drop_column("opportunities", "erp_order_number")
