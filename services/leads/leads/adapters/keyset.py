"""Keyset pages in SQL: newest first, then id, from after the last row of the previous page."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa


def newest_first(table: sa.Table, stmt: sa.Select, after: tuple[datetime, str] | None) -> sa.Select:
    """``stmt`` ordered by (create_time DESC, id), starting after ``after`` (the previous page's last row)."""
    if after is not None:
        time, last_id = after
        stmt = stmt.where(sa.or_(table.c.create_time < time,
                                 sa.and_(table.c.create_time == time, table.c.id > last_id)))
    return stmt.order_by(table.c.create_time.desc(), table.c.id)
