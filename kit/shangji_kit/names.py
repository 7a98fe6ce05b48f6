"""Resource names (AIP-122): "collection/{id}" with a UUID id."""

from __future__ import annotations

import uuid

from shangji_kit.errors import InvalidArgument


def parse(name: str, collection: str, field: str = "name") -> str:
    """The id in ``collection/{id}``; INVALID_ARGUMENT naming ``field`` when malformed."""
    prefix = f"{collection}/"
    if not name:
        raise InvalidArgument.field(field, "required")
    if not name.startswith(prefix):
        raise InvalidArgument.field(field, f"must look like {collection}/{{id}}, got {name!r}")
    raw = name[len(prefix):]
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise InvalidArgument.field(field, f"{raw!r} is not a valid id") from exc


def format(collection: str, id: str) -> str:  # noqa: A001 - mirrors parse
    return f"{collection}/{id}"


def format_or_empty(collection: str, id: str | None) -> str:
    """``collection/{id}``, or "" when there is no id (an unset reference, as the APIs answer it)."""
    return f"{collection}/{id}" if id else ""
