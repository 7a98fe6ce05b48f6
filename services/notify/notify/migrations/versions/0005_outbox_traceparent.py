"""the outbox keeps the trace context of the transaction that wrote each event (W3C traceparent)

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from shangji_kit.migrate import add_outbox_traceparent

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_traceparent(op.get_bind())


def downgrade() -> None:
    op.drop_column("outbox", "traceparent")
