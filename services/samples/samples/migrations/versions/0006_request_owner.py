"""a request's owner: who follows it up (the requester until the deal changes hands), filled with the requester

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sample_requests", sa.Column("owner_id", sa.Text))
    op.add_column("sample_requests", sa.Column("owner_change_time", sa.DateTime(timezone=True)))
    op.execute("UPDATE sample_requests SET owner_id = requester_id")
    op.alter_column("sample_requests", "owner_id", nullable=False)
    op.create_index("sample_requests_owner", "sample_requests", ["owner_id"])


def downgrade() -> None:
    op.drop_index("sample_requests_owner", table_name="sample_requests")
    op.drop_column("sample_requests", "owner_change_time")
    op.drop_column("sample_requests", "owner_id")
