"""List orderings (AIP-132 ``order_by``) over an allow-list, and keyset paging that stays stable in any of them.

``order_by`` is a comma-separated list of ``field`` or ``field desc``; a field the list does not allow, a
repeated field or another word is INVALID_ARGUMENT on ``order_by``. The id is always the last key, so the
order is total and a page never repeats or skips a row, whatever else changes between pages.

The page token carries the sort values of the last row returned, the ordering it was made for and a digest
of the filter: a token used with another ``order_by`` or ``filter`` is INVALID_ARGUMENT on ``page_token``
(AIP-158). Nullable keys sort their NULLs last in either direction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa

from shangji_kit.errors import InvalidArgument
from shangji_kit.paging import Page

T = TypeVar("T")

# How a sort value travels in the token and comes back typed.
_DECODE: dict[str, Callable[[Any], Any]] = {
    "time": datetime.fromisoformat, "date": date.fromisoformat, "decimal": Decimal,
    "text": str, "float": float, "int": int,
}


def _encode_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@dataclass(frozen=True)
class SortKey:
    """An orderable field: its expression, how its values are typed in a token, whether it may be NULL."""

    expression: Any
    kind: str
    nullable: bool = False


@dataclass(frozen=True)
class Ordering:
    text: str  # canonical: "amount desc, create_time"
    keys: tuple[tuple[SortKey, bool], ...]  # (key, descending)


def bad_order(reason: str) -> InvalidArgument:
    return InvalidArgument.field("order_by", reason)


def parse_order_by(text: str, allowed: Mapping[str, SortKey] | Sequence[str], default: str) -> str:
    """The canonical form of ``text`` (``default`` when empty), checked against the names in ``allowed``."""
    text = text.strip() or default
    names = set(allowed)
    seen: list[str] = []
    canonical: list[str] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise bad_order(f"expected 'field' or 'field desc', found {part.strip()!r}")
        name = words[0]
        if name not in names:
            raise bad_order(f"cannot order by {name!r}; allowed: {', '.join(sorted(names))}")
        if name in seen:
            raise bad_order(f"{name!r} named twice")
        seen.append(name)
        canonical.append(name + (" desc" if len(words) == 2 and words[1].lower() == "desc" else ""))
    return ", ".join(canonical)


def ordering(canonical: str, keys: Mapping[str, SortKey]) -> Ordering:
    """The sort keys of a canonical ``order_by`` (from ``parse_order_by``)."""
    parts = []
    for part in canonical.split(", "):
        name, _, direction = part.partition(" ")
        parts.append((keys[name], direction == "desc"))
    return Ordering(canonical, tuple(parts))


def _digest(filter_text: str) -> str:
    return hashlib.sha256(filter_text.encode()).hexdigest()[:12]


def _bad_token() -> InvalidArgument:
    return InvalidArgument.field("page_token", "not a page token returned by this API for this filter and order_by")


def decode_after(token: str, order: Ordering, filter_text: str) -> tuple[list[Any], str] | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        if data["o"] != order.text or data["f"] != _digest(filter_text) or len(data["k"]) != len(order.keys):
            raise _bad_token()
        values = [None if v is None else _DECODE[key.kind](v)
                  for (key, _), v in zip(order.keys, data["k"], strict=True)]
        last_id = str(data["id"])
    except (ValueError, UnicodeError, binascii.Error, KeyError, TypeError) as exc:
        raise _bad_token() from exc
    return values, last_id


def _encode(values: Sequence[Any], last_id: str, order: Ordering, filter_text: str) -> str:
    data = {"o": order.text, "f": _digest(filter_text), "k": [_encode_value(v) for v in values], "id": str(last_id)}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def order_clauses(order: Ordering, id_col: Any) -> list[Any]:
    """ORDER BY of ``order``, the id last."""
    clauses = []
    for key, desc in order.keys:
        expr = key.expression
        clauses.append((expr.desc() if desc else expr.asc()).nulls_last() if key.nullable
                       else (expr.desc() if desc else expr.asc()))
    clauses.append(id_col.asc())
    return clauses


def _after(order: Ordering, id_col: Any, values: list[Any], last_id: str) -> sa.ColumnElement[bool]:
    """Rows strictly after (values, last_id) in ``order``: the lexicographic OR of 'equal so far, then after'."""
    alternatives = []
    equal_so_far: list[sa.ColumnElement[bool]] = []
    for (key, desc), value in zip(order.keys, values, strict=True):
        expr = key.expression
        if value is None:
            after = sa.false()  # NULLs sort last: nothing non-NULL comes after a NULL
            equal = expr.is_(None)
        else:
            after = expr < value if desc else expr > value
            if key.nullable:
                after = sa.or_(after, expr.is_(None))
            equal = expr == value
        alternatives.append(sa.and_(*equal_so_far, after))
        equal_so_far.append(equal)
    alternatives.append(sa.and_(*equal_so_far, id_col > last_id))
    after = sa.or_(*alternatives)
    (first, desc), value = order.keys[0], values[0]
    if value is None or first.nullable:
        return after
    # Implied by the OR, but an index on the first key can start its scan there: without it, every page (and each
    # batch of an export) scanned the index from the top, so reading a whole list cost O(rows^2).
    return sa.and_(first.expression <= value if desc else first.expression >= value, after)


def page_from(rows: list[T], limit: int, order: Ordering, filter_text: str,
              key: Callable[[T], tuple[list[Any], str]]) -> Page[T]:
    """A page of ``rows`` read elsewhere in ``order`` with ``limit + 1``; ``key``: a row's sort values and id."""
    if len(rows) <= limit:
        return Page(rows, "")
    values, last_id = key(rows[limit - 1])
    return Page(rows[:limit], _encode(values, last_id, order, filter_text))


def read_page(conn: sa.Connection, stmt: sa.Select, order: Ordering, id_col: Any, filter_text: str,
              page_token: str, limit: int, to_item: Callable[[Any], T]) -> Page[T]:
    """One page of ``stmt`` in ``order`` after ``page_token``; the token of the next page when one more row exists."""
    after = decode_after(page_token, order, filter_text)
    labels = [f"_sort{i}" for i in range(len(order.keys))]
    stmt = stmt.add_columns(*(key.expression.label(label) for (key, _), label in zip(order.keys, labels, strict=True)))
    if after is not None:
        stmt = stmt.where(_after(order, id_col, *after))
    rows = conn.execute(stmt.order_by(*order_clauses(order, id_col)).limit(limit + 1)).all()
    items = [to_item(row) for row in rows[:limit]]
    token = ""
    if len(rows) > limit:
        last = rows[limit - 1]
        token = _encode([getattr(last, label) for label in labels], getattr(last, id_col.key), order, filter_text)
    return Page(items, token)


def count_rows(conn: sa.Connection, stmt: sa.Select,
               rows_of: Callable[[sa.Subquery], sa.ColumnElement[Any]] | None = None) -> int:
    """How many rows ``stmt`` lists (what paging through ``read_page`` would return, all pages); ``rows_of``: the
    rows one listed record stands for, when it is more than one (an export's lines of a request)."""
    listed = stmt.order_by(None).subquery()
    total = sa.func.count() if rows_of is None else sa.func.coalesce(sa.func.sum(rows_of(listed)), 0)
    return int(conn.execute(sa.select(total).select_from(listed)).scalar_one())
