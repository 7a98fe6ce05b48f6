"""Update masks (AIP-134): the fields a partial update names, checked against those it may change."""

from __future__ import annotations

from collections.abc import Iterable

from shangji_kit.errors import InvalidArgument


def check(mask: Iterable[str], updatable: Iterable[str], field: str = "update_mask") -> set[str]:
    """The paths of ``mask``; INVALID_ARGUMENT on ``field`` when it is empty or names a path not in ``updatable``."""
    paths, allowed = list(mask), tuple(updatable)
    if not paths:
        raise InvalidArgument.field(field, f"required: name the fields to change ({', '.join(allowed)})")
    unknown = [p for p in paths if p not in allowed]
    if unknown:
        raise InvalidArgument.field(field, f"cannot update {', '.join(unknown)}; updatable: {', '.join(allowed)}")
    return set(paths)
