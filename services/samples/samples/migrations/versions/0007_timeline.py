"""the customer timeline: when the ERP confirmed a request's free order, and the requests of a customer by index

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sample_requests", sa.Column("erp_order_time", sa.DateTime(timezone=True)))
    # Orders recorded before this revision kept no time: the last change of a request still "ordered" was its order;
    # a request shipped since was ordered no later than its shipment.
    op.execute("""
        UPDATE sample_requests
        SET erp_order_time = CASE WHEN state = 'ordered' THEN update_time
                                  ELSE COALESCE(CAST(shipment->>'ship_time' AS timestamptz), update_time) END
        WHERE erp_order_number <> ''
    """)
    op.create_index("sample_requests_customer", "sample_requests", ["customer"])


def downgrade() -> None:
    op.drop_index("sample_requests_customer", table_name="sample_requests")
    op.drop_column("sample_requests", "erp_order_time")
