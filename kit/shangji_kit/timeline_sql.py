"""The customer timeline's order in SQL (``timeline_token`` holds the order and the token): each service builds its
timeline as one statement read in keyset order from after a cursor."""

from __future__ import annotations

import sqlalchemy as sa

from shangji_kit.timeline_token import Cursor


def sql_key(source: str, kind: sa.ColumnElement, resource: sa.ColumnElement) -> sa.ColumnElement:
    """``item_key`` in SQL, compared byte-wise whatever the database's collation."""
    return sa.func.concat(f"{source}/", kind, "/", resource).collate("C")


def sql_after(time: sa.ColumnElement, key: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """SQL: the rows after the cursor in timeline order (keyset), with the cursor as parameters
    (``after_params``), so a statement is built once."""
    after_time = sa.bindparam("after_time", type_=sa.DateTime(timezone=True))
    return sa.or_(time < after_time, sa.and_(time == after_time, key > sa.bindparam("after_key", type_=sa.Text)))


def after_params(cursor: Cursor | None) -> dict:
    """The parameters of ``sql_after`` (none for the first page)."""
    return {} if cursor is None else {"after_time": cursor.time, "after_key": cursor.key}


def sql_order(time: sa.ColumnElement, key: sa.ColumnElement) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """SQL: timeline order, newest first, then key."""
    return time.desc(), key.asc()


def page_statement(items: sa.Subquery, source: str, after: bool) -> sa.Select:
    """A service's timeline rows (``items``: kind, resource, event_time, ...) in timeline order, after the cursor when
    ``after`` (``after_params``), at most the ``limit`` parameter of them."""
    key = sql_key(source, items.c.kind, items.c.resource)
    stmt = sa.select(items)
    if after:
        stmt = stmt.where(sql_after(items.c.event_time, key))
    return stmt.order_by(*sql_order(items.c.event_time, key)).limit(sa.bindparam("limit", type_=sa.Integer))
