"""The erp_bridge database schema: order jobs, the mapping tables, teams' organisation (for who may call the
API), and the kit's outbox and inbox."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table
from shangji_kit.visibility import org_tables

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
org = org_tables(metadata)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    # Our reference on the ERP order (the source's resource name): one job, one ERP order, per source.
    sa.Column("reference", sa.Text, nullable=False, unique=True),
    sa.Column("source_kind", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    # The order request as the event carried it (the domain's OrderRequest), kept for retries.
    sa.Column("payload", pg.JSONB, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_time", sa.DateTime(timezone=True)),
    sa.Column("erp_order_number", sa.Text, nullable=False, server_default=""),
    sa.Column("erp_state", sa.Text, nullable=False, server_default=""),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'confirmed', 'dead_letter')", name="jobs_state"),
    # The timer's query: due pending jobs, oldest due first.
    sa.Index("jobs_due", "next_attempt_time", postgresql_where=sa.text("state = 'pending'")),
    sa.Index("jobs_listing", "create_time", "id"),
)

product_mappings = sa.Table(
    "product_mappings",
    metadata,
    sa.Column("product", sa.Text, primary_key=True),
    sa.Column("erp_product_code", sa.Text, nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
)

customer_mappings = sa.Table(
    "customer_mappings",
    metadata,
    # "customers/{id}", or "company:<folded name>" for a deal or request without a customer record
    sa.Column("customer", sa.Text, primary_key=True),
    sa.Column("erp_party_code", sa.Text, nullable=False),
    sa.Column("derived", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
)
