"""Keyset pages in SQL: newest first, then id, from after the last row of the previous page."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa


def newest_first(table: sa.Table, stmt: sa.Select, after: tuple[datetime, str] | None,
                 time: sa.Column | None = None) -> sa.Select:
    """``stmt`` ordered by (``time`` DESC, id), starting after ``after`` (the previous page's last row); ``time`` is
    the table's create_time unless given."""
    column = table.c.create_time if time is None else time
    if after is not None:
        last_time, last_id = after
        # The implied bound ``column <= last_time`` beside the OR lets PostgreSQL start the index scan at the
        # previous page's end instead of at the newest row (the OR alone is not an index condition).
        stmt = stmt.where(column <= last_time,
                          sa.or_(column < last_time, sa.and_(column == last_time, table.c.id > last_id)))
    return stmt.order_by(column.desc(), table.c.id)
