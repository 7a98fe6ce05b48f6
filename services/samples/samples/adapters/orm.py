"""The samples database schema (created by the migrations in ``samples/migrations``)."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table
from shangji_kit.request_ids import request_ids_table
from shangji_kit.visibility import org_tables

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
org = org_tables(metadata)
request_ids = request_ids_table(metadata)

products = sa.Table(
    "products", metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("unit_cost", sa.Numeric(18, 4), nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
)

# One row: the tiers in force, as a list of {name, max_total_quantity, max_estimated_cost, approver_role}.
approval_policy = sa.Table(
    "approval_policy", metadata,
    sa.Column("id", sa.Boolean, primary_key=True, server_default=sa.true()),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("tiers", pg.JSONB, nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("id", name="approval_policy_one_row"),
)

sample_requests = sa.Table(
    "sample_requests", metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("opportunity_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("customer_company", sa.Text, nullable=False),
    sa.Column("customer", sa.Text, nullable=False),
    sa.Column("requester_id", sa.Text, nullable=False),
    sa.Column("cost_centre_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("recipient_name", sa.Text, nullable=False),
    sa.Column("recipient_phone", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("wanted_by_date", sa.Date),
    sa.Column("lines", pg.JSONB, nullable=False),
    sa.Column("attachments", pg.JSONB, nullable=False),
    sa.Column("estimated_cost", sa.Numeric(18, 4), nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("total_quantity", sa.Integer, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("steps", pg.JSONB, nullable=False),
    # Who must act now (NULL unless pending): the waiting_for_me list is an index scan on it.
    sa.Column("current_approver_id", sa.Text),
    # Every approver of every step: they see the request (visibility's extra rule).
    sa.Column("approver_ids", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("erp_order_number", sa.Text, nullable=False, server_default=""),
    sa.Column("erp_order_error", sa.Text, nullable=False, server_default=""),
    sa.Column("erp_order_error_time", sa.DateTime(timezone=True)),
    # 0007: when the ERP confirmed the free order (the customer timeline's "erp_order").
    sa.Column("erp_order_time", sa.DateTime(timezone=True)),
    sa.Column("shipment", pg.JSONB),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # Who follows it up (the requester until the deal changes hands; migration 0006 filled it with the requester),
    # and when teams or opportunities made the last change (an older change arriving late is ignored).
    sa.Column("owner_id", sa.Text, nullable=False),
    sa.Column("owner_change_time", sa.DateTime(timezone=True)),
    sa.Index("sample_requests_requester", "requester_id", sa.text("create_time DESC"), "id"),
    sa.Index("sample_requests_waiting", "current_approver_id", sa.text("create_time DESC"), "id",
             postgresql_where=sa.text("current_approver_id IS NOT NULL")),
    sa.Index("sample_requests_recent", sa.text("create_time DESC"), "id"),
    sa.Index("sample_requests_approvers", "approver_ids", postgresql_using="gin"),
    sa.Index("sample_requests_opportunity", "opportunity_id"),
    sa.Index("sample_requests_owner", "owner_id"),
    sa.Index("sample_requests_customer", "customer"),
)

feedback = sa.Table(
    "feedback", metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("request_id", pg.UUID(as_uuid=False), sa.ForeignKey("sample_requests.id"), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("assignee_id", sa.Text, nullable=False),
    sa.Column("raised_by", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("resolution", sa.Text, nullable=False, server_default=""),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("close_time", sa.DateTime(timezone=True)),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("feedback_request", "request_id", "create_time", "id"),
    sa.Index("feedback_assignee", "assignee_id"),
)
