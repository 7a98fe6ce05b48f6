"""Pagination (AIP-158): page sizes and opaque keyset page tokens of (create_time, id)."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from shangji_kit.errors import InvalidArgument

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def page_size(page_size: int) -> int:
    """0 means the default; above the maximum is capped (AIP-158); negative is refused."""
    if page_size < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    return min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(create_time: datetime, id: str) -> str:
    return base64.urlsafe_b64encode(f"{create_time.isoformat()}|{id}".encode()).decode()


def decode_token(token: str) -> tuple[datetime, str] | None:
    if not token:
        return None
    try:
        time_text, _, id_text = base64.urlsafe_b64decode(token.encode("ascii")).decode().partition("|")
        time = datetime.fromisoformat(time_text)
        last_id = str(uuid.UUID(id_text))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidArgument.field("page_token", "not a page token returned by this API") from exc
    if time.tzinfo is None:
        raise InvalidArgument.field("page_token", "not a page token returned by this API")
    return time, last_id


def encode_key_token(key: str) -> str:
    """An opaque token for lists ordered by a unique text key (codes, names) rather than (time, id)."""
    return base64.urlsafe_b64encode(f"k|{key}".encode()).decode()


def decode_key_token(token: str) -> str | None:
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidArgument.field("page_token", "not a page token returned by this API") from exc
    if not text.startswith("k|"):
        raise InvalidArgument.field("page_token", "not a page token returned by this API")
    return text[2:]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the token of the next one ("" on the last page)."""

    items: list[T]
    next_page_token: str


def keyset_page(rows: list[T], limit: int) -> Page[T]:
    """``rows`` read with ``limit + 1`` in (create_time, id) order: the page, and a token when one more row exists."""
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, encode_token(items[-1].create_time, items[-1].id) if more else "")
