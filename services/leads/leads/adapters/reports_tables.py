"""The table leads' reports keep (migration 0007): every campaign touch on a lead, written by a trigger."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from leads.adapters.orm import metadata

lead_touches = sa.Table(
    "lead_touches",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("lead_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("campaign_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("touch_time", sa.DateTime(timezone=True), nullable=False),
)
