"""customer owners and request ids: who owns each leads customer (from CustomerCreated / CustomerUpdated), for
RegisterOpportunity's visibility check on the customer it names; the kit's idempotency_keys for its request_id

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.migrate import create_request_ids_table, drop_request_ids_table

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_owners",
        sa.Column("customer_id", pg.UUID(as_uuid=False), primary_key=True),
        sa.Column("owner_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    create_request_ids_table(op.get_bind())


def downgrade() -> None:
    drop_request_ids_table(op.get_bind())
    op.drop_table("customer_owners")
