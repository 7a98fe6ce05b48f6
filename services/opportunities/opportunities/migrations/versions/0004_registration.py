"""registration (报备): registration settings, registration state, normalised customer key, arbitration

Revision ID: 0004
Revises: 0003

Additive. Every existing deal is ``active`` (registered, holding its customer); its ``customer_key`` is computed
with a frozen copy of ``opportunities.domain.registration.customer_key`` as it was at this revision.
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SUFFIXES = ("股份有限公司", "集团有限公司", "有限责任公司", "有限公司", "集团公司", "公司", "corporation",
             "limited", "coltd", "corp", "ltd", "inc", "co")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _customer_key(name: str) -> str:
    text = _NOT_WORD.sub("", unicodedata.normalize("NFKC", name).casefold())
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def upgrade() -> None:
    op.create_table(
        "registration_settings",
        # One row: the company's settings (a single-tenant database per company).
        sa.Column("id", sa.Boolean, primary_key=True, server_default=sa.true()),
        sa.Column("protection_days", sa.Integer, nullable=False, server_default="90"),
        sa.Column("collision_mode", sa.Text, nullable=False, server_default="refuse"),
        sa.CheckConstraint("id", name="registration_settings_one_row"),
        sa.CheckConstraint("protection_days >= 0", name="registration_settings_protection_days"),
        sa.CheckConstraint("collision_mode IN ('refuse', 'queue')", name="registration_settings_collision_mode"),
    )
    op.execute("INSERT INTO registration_settings (id) VALUES (true)")
    for column in (
        sa.Column("registration_state", sa.Text, nullable=False, server_default="active"),
        sa.Column("customer_key", sa.Text, nullable=False, server_default=""),
        sa.Column("collides_with", pg.UUID(as_uuid=False)),
        sa.Column("arbiter_id", pg.UUID(as_uuid=False)),
        sa.Column("arbitration_time", sa.DateTime(timezone=True)),
        sa.Column("arbitration_note", sa.Text, nullable=False, server_default=""),
    ):
        op.add_column("opportunities", column)
    op.create_check_constraint("opportunities_registration_state", "opportunities",
                               "registration_state IN ('active', 'pending_arbitration', 'rejected')")
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, customer_company FROM opportunities")).fetchall()
    for row in rows:
        bind.execute(sa.text("UPDATE opportunities SET customer_key = :k WHERE id = :i"),
                     {"k": _customer_key(row.customer_company), "i": row.id})
    op.create_index("opportunities_customer_key", "opportunities", ["customer_key"])


def downgrade() -> None:
    op.drop_index("opportunities_customer_key", "opportunities")
    op.drop_constraint("opportunities_registration_state", "opportunities", type_="check")
    for column in ("arbitration_note", "arbitration_time", "arbiter_id", "collides_with", "customer_key",
                   "registration_state"):
        op.drop_column("opportunities", column)
    op.drop_table("registration_settings")
