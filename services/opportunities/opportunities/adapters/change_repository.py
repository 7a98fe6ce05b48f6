"""Deals' audit trails in PostgreSQL (``opportunity_changes``)."""

from __future__ import annotations

import sqlalchemy as sa

from opportunities.adapters.orm import opportunity_changes
from opportunities.domain.audit import Change, FieldChange
from shangji_kit import ordering, plans
from shangji_kit.list_query import ListQuery
from shangji_kit.ordering import SortKey
from shangji_kit.paging import Page

# Built once; a move's one or two rows, whose plan PostgreSQL may keep (``plans``).
_INSERT = plans.generic(sa.insert(opportunity_changes))

SORT_KEYS = {"change_time": SortKey(opportunity_changes.c.change_time, "time")}


def _change(row) -> Change:
    return Change(id=row.id, opportunity_id=row.opportunity_id, actor_id=row.actor_id, change_time=row.change_time,
                  kind=row.kind, reason=row.reason,
                  changes=tuple(FieldChange(c["field"], c["old_value"], c["new_value"]) for c in row.changes))


class ChangeRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, changes: list[Change]) -> None:
        if changes:
            self.session.execute(_INSERT, [
                {"id": c.id, "opportunity_id": c.opportunity_id, "actor_id": c.actor_id,
                 "change_time": c.change_time, "kind": c.kind, "reason": c.reason,
                 "changes": [{"field": f.field, "old_value": f.old_value, "new_value": f.new_value}
                             for f in c.changes]} for c in changes])

    def of_deal(self, opportunity_id: str, query: ListQuery) -> Page[Change]:
        """One page of the deal's changes in ``query``'s order (newest first), keyset-paged by the kit."""
        t = opportunity_changes
        order = ordering.ordering(query.order_by, SORT_KEYS)
        return ordering.read_page(self.session, sa.select(t).where(t.c.opportunity_id == opportunity_id), order,
                                  t.c.id, query.filter.text, query.page_token, query.limit, _change)
