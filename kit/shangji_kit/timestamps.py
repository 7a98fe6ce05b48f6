"""protobuf Timestamps read into datetimes, INVALID_ARGUMENT naming the field for one out of range.

``Timestamp.ToDatetime`` raises ValueError/OverflowError outside 0001-01-01..9999-12-31 or for nanos
outside 0..999,999,999; a request must not turn that into INTERNAL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from shangji_kit.errors import InvalidArgument

MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z


def to_datetime(value: Timestamp, field: str) -> datetime:
    if not (MIN_SECONDS <= value.seconds <= MAX_SECONDS and 0 <= value.nanos <= 999_999_999):
        raise InvalidArgument.field(field, "a time between 0001-01-01 and 9999-12-31 (UTC)")
    return value.ToDatetime(tzinfo=UTC)


def optional(message: Message, name: str, field: str | None = None) -> datetime | None:
    """``message.<name>`` as a datetime, None when unset; ``field`` names it in errors (default ``name``)."""
    return to_datetime(getattr(message, name), field or name) if message.HasField(name) else None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)


def from_datetime(value: datetime | None) -> Timestamp | None:
    """A datetime as a Timestamp for an outgoing message; None stays unset. A naive datetime is UTC, as
    ``Timestamp.FromDatetime`` takes it.

    The same seconds and nanos as ``FromDatetime`` from one subtraction (timedelta normalises days and seconds
    as floor division does): 1.1 us instead of 3.4 (its time tuple and ``calendar.timegm``), three times per deal
    of a 50-deal page."""
    if value is None:
        return None
    delta: timedelta = value - (_NAIVE_EPOCH if value.tzinfo is None else _EPOCH)
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)
