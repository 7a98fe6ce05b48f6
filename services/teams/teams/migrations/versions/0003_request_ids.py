"""request ids per caller (idempotency_keys) instead of unique request_id columns on users and departments

The old columns did not record who used them, so their ids cannot be scoped to a caller: they are dropped
(a request id guards the retries of one call, seconds to minutes; none is in flight across a deployment).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from shangji_kit.migrate import create_request_ids_table, drop_request_ids_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_request_ids_table(op.get_bind())
    op.drop_column("users", "request_id")
    op.drop_column("departments", "request_id")


def downgrade() -> None:
    op.add_column("departments", sa.Column("request_id", sa.Text, unique=True))
    op.add_column("users", sa.Column("request_id", sa.Text, unique=True))
    drop_request_ids_table(op.get_bind())
