"""Timestamps in and out of messages, and the one page rule."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from shangji.teams.v1 import teams_pb2
from shangji_kit import paging, timestamps
from shangji_kit.errors import InvalidArgument


@pytest.mark.parametrize("bad", [Timestamp(seconds=400_000_000_000), Timestamp(seconds=-70_000_000_000),
                                  Timestamp(seconds=0, nanos=-1), Timestamp(seconds=0, nanos=1_000_000_000)])
def test_a_time_out_of_range_is_invalid_argument_naming_the_field(bad):
    with pytest.raises(InvalidArgument) as exc:
        timestamps.optional(teams_pb2.User(update_time=bad), "update_time", "user.update_time")
    assert [v.field for v in exc.value.violations] == ["user.update_time"]


def test_times_round_trip_and_unset_is_none():
    at = datetime(2026, 5, 4, 9, 30, 1, 500, tzinfo=UTC)
    assert timestamps.optional(teams_pb2.User(update_time=timestamps.from_datetime(at)), "update_time") == at
    assert timestamps.optional(teams_pb2.User(), "update_time") is None
    assert timestamps.from_datetime(None) is None


@pytest.mark.parametrize("at", [
    datetime(2026, 5, 4, 9, 30, 1, 500, tzinfo=UTC), datetime(2026, 5, 4, 9, 30, 1, 999_999),
    datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 5, 4, 17, 30, tzinfo=timezone(timedelta(hours=8)))])
def test_a_time_out_is_what_protobuf_makes_of_it(at):
    made = Timestamp()
    made.FromDatetime(at)
    assert timestamps.from_datetime(at) == made


@dataclass
class Row:
    create_time: datetime
    id: str


def test_a_page_has_a_token_only_when_another_row_exists():
    rows = [Row(datetime(2026, 1, d, tzinfo=UTC), f"00000000-0000-4000-8000-00000000000{d}") for d in (1, 2, 3)]
    page = paging.keyset_page(rows, 2)
    assert page.items == rows[:2]
    assert paging.decode_token(page.next_page_token) == (rows[1].create_time, rows[1].id)
    assert paging.keyset_page(rows[:2], 2).next_page_token == ""
