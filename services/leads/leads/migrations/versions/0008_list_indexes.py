"""lists: pg_trgm and the indexes of text search and of the common filters of ListLeads and ListCustomers

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_INDEXES = {
    # Text search (search = "..."): ILIKE '%term%' on each searched column.
    "leads_company_trgm": ("leads", "USING gin (company gin_trgm_ops)"),
    "leads_contact_trgm": ("leads", "USING gin (contact_name gin_trgm_ops)"),
    "leads_contact_title_trgm": ("leads", "USING gin (contact_title gin_trgm_ops)"),
    "leads_notes_trgm": ("leads", "USING gin (notes gin_trgm_ops)"),
    "follow_ups_note_trgm": ("follow_ups", "USING gin (note gin_trgm_ops)"),
    "customers_name_trgm": ("customers", "USING gin (display_name gin_trgm_ops)"),
    "contacts_name_trgm": ("contacts", "USING gin (display_name gin_trgm_ops)"),
    "contacts_title_trgm": ("contacts", "USING gin (title gin_trgm_ops)"),
    # The common filters and orders, each with the newest-first order of the default list.
    "leads_region": ("leads", "(region, create_time DESC, id)"),
    "leads_source": ("leads", "(source, create_time DESC, id)"),
    "leads_customer": ("leads", "(customer_id)"),
    "leads_score": ("leads", "(score DESC, id)"),
    "leads_updated": ("leads", "(update_time DESC, id)"),
    "customers_region": ("customers", "(region, create_time DESC, id)"),
    "customers_display_name": ("customers", "(display_name, id)"),
}


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, how) in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} {how}")


def downgrade() -> None:
    for name in _INDEXES:
        op.execute(f"DROP INDEX {name}")
