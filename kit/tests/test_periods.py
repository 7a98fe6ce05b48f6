from datetime import date

import pytest

from shangji_kit import periods
from shangji_kit.errors import InvalidArgument


def test_a_period_is_parsed_or_refused_naming_its_field():
    assert periods.parse_period("2026-11-01", "2026-11-30") == periods.Period(date(2026, 11, 1), date(2026, 11, 30))
    with pytest.raises(InvalidArgument) as exc:
        periods.parse_period("2026-11-30", "2026-11-01")
    assert [v.field for v in exc.value.violations] == ["period.end_date"]


def test_whole_months_cover_a_period_across_a_year_end():
    got = periods.buckets(periods.Period(date(2026, 12, 31), date(2027, 1, 1)), periods.MONTH)
    assert [(b.start, b.end) for b in got] == [(date(2026, 12, 1), date(2026, 12, 31)),
                                               (date(2027, 1, 1), date(2027, 1, 31))]
