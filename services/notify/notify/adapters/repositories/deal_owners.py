"""Who holds each reassigned deal, by the latest reassignment seen, in PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from notify.adapters.orm import deal_owners

_upsert = pg.insert(deal_owners)
# Only a later change replaces the row; an earlier one (arriving late) leaves it and returns nothing.
_RECORD = _upsert.on_conflict_do_update(
    index_elements=[deal_owners.c.deal],
    set_={"owner_id": _upsert.excluded.owner_id, "change_time": _upsert.excluded.change_time},
    where=deal_owners.c.change_time < _upsert.excluded.change_time,
).returning(deal_owners.c.owner_id)
_CURRENT = sa.select(deal_owners.c.owner_id).where(deal_owners.c.deal == sa.bindparam("deal"))


class DealOwnerRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def record(self, deal: str, owner_id: str, change_time: datetime) -> str:
        """Note that ``deal`` went to ``owner_id`` at ``change_time``; the deal's holder by the latest change seen."""
        taken = self.session.execute(_RECORD, {"deal": deal, "owner_id": owner_id,
                                               "change_time": change_time}).scalar_one_or_none()
        if taken is not None:
            return taken
        # A later change is recorded (possibly by a transaction this statement waited for, hence a second read).
        return self.session.execute(_CURRENT, {"deal": deal}).scalar_one()
