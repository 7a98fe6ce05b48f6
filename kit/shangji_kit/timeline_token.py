"""The customer timeline's order and page token, the same in every service.

Opportunities' and samples' ListCustomerTimeline and leads' GetCustomerTimeline (which merges the other two with
its own items) all list items newest first; items of the same time follow their key, "<source>/<kind>/<resource>",
in ascending code-point order (SQL compares it ``COLLATE "C"``, UTF-8 byte order, which is the same order:
``timeline_sql``). A token
holds the time and key of the last item shown, so it resumes any of the three lists at the same place, and the
merge of pages read after one cursor pages without duplicates or gaps.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from shangji_kit.errors import InvalidArgument

_PREFIX = "tl|"
# A key is "<source>/<kind>/<resource>"; resources of the timeline are a few ids long.
MAX_KEY_CHARS = 400
MAX_TOKEN_CHARS = 1024


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last item's time and key."""

    time: datetime
    key: str


def item_key(source: str, kind: str, resource: str) -> str:
    """The tie-breaking key of an item: unique per item, since an item is one kind of thing at one time."""
    return f"{source}/{kind}/{resource}"


# A call, visit, email or meeting as a title names it: leads' follow-ups (upper case) and deals' activities alike.
_CONTACT_KINDS = {"call": "电话", "visit": "拜访", "email": "邮件", "meeting": "会议"}


def contact_kind_name(kind: str) -> str:
    return _CONTACT_KINDS.get(kind.lower(), kind)


@dataclass(frozen=True)
class Item:
    """One entry of a customer's timeline, the shape of every service's TimelineItem (names, not ids)."""

    source: str
    kind: str
    resource: str
    title: str
    summary: str
    actor: str  # "users/{id}"; "" for the system
    event_time: datetime
    opportunity: str = ""
    lead: str = ""

    @property
    def key(self) -> str:
        return item_key(self.source, self.kind, self.resource)


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next_page_token: str


def encode(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{cursor.time.isoformat()}|{cursor.key}".encode()).decode()


def _refuse() -> InvalidArgument:
    return InvalidArgument.field("page_token", "not a timeline page token returned by this API")


def decode(token: str) -> Cursor | None:
    """The cursor a token holds; None for no token; INVALID_ARGUMENT naming page_token for anything else."""
    if not token:
        return None
    if len(token) > MAX_TOKEN_CHARS:
        raise _refuse()
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode()
        if not text.startswith(_PREFIX):
            raise ValueError("no timeline prefix")
        time_text, separator, key = text[len(_PREFIX):].partition("|")
        time = datetime.fromisoformat(time_text)
        if not separator or time.tzinfo is None:
            raise ValueError("no key or no time zone")
        time = time.astimezone(UTC)
    except (ValueError, UnicodeError, binascii.Error, OverflowError) as exc:
        raise _refuse() from exc
    # A key holds printable characters only: PostgreSQL refuses NUL in text, and no key of ours has controls.
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise _refuse()
    return Cursor(time, key)


def newest_first(items: Iterable[Item]) -> list[Item]:
    """``items`` in timeline order."""
    ordered = sorted(items, key=lambda i: i.key)
    ordered.sort(key=lambda i: i.event_time, reverse=True)  # stable: equal times keep their key order
    return ordered


def next_token(shown: list[Item], more: bool) -> str:
    """The token after the last item shown when more items follow; "" on the last page."""
    if not more or not shown:
        return ""
    return encode(Cursor(shown[-1].event_time, shown[-1].key))


def first_of(items: list[Item], limit: int) -> Page:
    """The page of ``items`` read in timeline order with ``limit + 1`` (one more says another page follows)."""
    shown = items[:limit]
    return Page(shown, next_token(shown, len(items) > limit))
