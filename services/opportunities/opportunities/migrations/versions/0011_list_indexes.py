"""lists: pg_trgm and the indexes of the common filters and of text search (README, "Lists")

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_INDEXES = {
    # Text search (search = "..."): ILIKE '%term%' on each searched column.
    "opportunities_company_trgm": "USING gin (customer_company gin_trgm_ops)",
    "opportunities_title_trgm": "USING gin (title gin_trgm_ops)",
    "opportunities_contact_trgm": "USING gin (contact_name gin_trgm_ops)",
    "activities_notes_trgm": "USING gin (notes gin_trgm_ops)",
    # The common filters, each with the newest-first order of the default list.
    "opportunities_close_date": "(expected_close_date, id)",
    "opportunities_stage": "(stage_key, create_time DESC, id)",
    "opportunities_region": "(region, create_time DESC, id)",
    "opportunities_customer": "(customer_id, create_time DESC, id)",
    "opportunities_updated": "(update_time DESC, id)",
    "opportunities_amount": "(amount DESC NULLS LAST, id)",
}


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, how in _INDEXES.items():
        table = "activities" if name.startswith("activities") else "opportunities"
        op.execute(f"CREATE INDEX {name} ON {table} {how}")


def downgrade() -> None:
    for name in _INDEXES:
        op.execute(f"DROP INDEX {name}")
