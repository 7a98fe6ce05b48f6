from datetime import UTC, date, datetime

from shangji_kit import company_time


def test_a_shanghai_day_starts_at_16_utc_the_evening_before():
    tz = company_time.zone("Asia/Shanghai")
    assert company_time.start_of_day(date(2026, 12, 5), tz) == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    # 23:30 on the 5th in Shanghai is 15:30 UTC: still the 5th for the company
    assert company_time.today(datetime(2026, 12, 5, 15, 30, tzinfo=UTC), tz) == date(2026, 12, 5)
    assert company_time.today(datetime(2026, 12, 5, 16, 30, tzinfo=UTC), tz) == date(2026, 12, 6)


def test_periods():
    assert company_time.week_start(date(2026, 12, 6)) == date(2026, 11, 30)
    assert company_time.quarter_start(date(2026, 11, 15)) == date(2026, 10, 1)
    first, end = company_time.day_range(date(2026, 1, 1), date(2026, 1, 31), company_time.zone("UTC"))
    assert (end - first).days == 31


def test_an_unknown_zone_is_refused_by_name():
    import pytest

    with pytest.raises(ValueError, match="Mars/Olympus"):
        company_time.zone("Mars/Olympus")
