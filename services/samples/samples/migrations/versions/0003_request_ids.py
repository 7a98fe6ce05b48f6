"""request ids per caller (idempotency_keys) instead of one unique request_id column

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
    bind = op.get_bind()
    create_request_ids_table(bind)
    # The ids requests were made with, now remembered for the requester who used them.
    op.execute("""
        INSERT INTO idempotency_keys (caller, operation, request_id, resource_id, create_time)
        SELECT requester_id, 'CreateSampleRequest', request_id, id::text, create_time
        FROM sample_requests WHERE request_id IS NOT NULL
    """)
    op.drop_column("sample_requests", "request_id")


def downgrade() -> None:
    op.add_column("sample_requests", sa.Column("request_id", sa.Text, unique=True))
    # Ids two callers both used cannot share the unique column again: the oldest keeps it.
    op.execute("""
        UPDATE sample_requests r SET request_id = k.request_id
        FROM (SELECT DISTINCT ON (request_id) request_id, resource_id FROM idempotency_keys
              WHERE operation = 'CreateSampleRequest' ORDER BY request_id, create_time) k
        WHERE r.id::text = k.resource_id
    """)
    drop_request_ids_table(bind=op.get_bind())
