"""The clock a use case is given: the real one in production, a fixed one in unit tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def fixed(at: datetime) -> Clock:
    """A clock that always says ``at``."""
    return lambda: at
