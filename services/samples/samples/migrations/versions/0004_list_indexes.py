"""lists: pg_trgm and the indexes of text search and of the common filters of ListSampleRequests

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEXES = {
    # Text search (search = "..."): ILIKE '%term%' on each searched column.
    "sample_requests_company_trgm": "USING gin (customer_company gin_trgm_ops)",
    "sample_requests_recipient_trgm": "USING gin (recipient_name gin_trgm_ops)",
    "sample_requests_purpose_trgm": "USING gin (purpose gin_trgm_ops)",
    # The common filters and orders, each with the newest-first order of the default list.
    "sample_requests_state": "(state, create_time DESC, id)",
    "sample_requests_wanted_by": "(wanted_by_date, id)",
    "sample_requests_updated": "(update_time DESC, id)",
}


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, how in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON sample_requests {how}")


def downgrade() -> None:
    for name in _INDEXES:
        op.execute(f"DROP INDEX {name}")
