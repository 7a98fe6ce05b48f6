"""The company's calendar: day boundaries, weeks, months and quarters in its time zone.

"Today", "overdue", "closing in 7 days", quiet hours and report periods are days of the company,
not of UTC: a deal closing on 2026-12-05 is not overdue at 23:30 on the 5th in Shanghai even though
UTC has moved on. Every service asks this module; nothing else reads SHANGJI_COMPANY_TIMEZONE.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shangji_kit.settings import env

DEFAULT_TIMEZONE = "Asia/Shanghai"


@lru_cache(maxsize=8)
def zone(name: str | None = None) -> ZoneInfo:
    """The company's time zone (SHANGJI_COMPANY_TIMEZONE, default Asia/Shanghai)."""
    name = name or env("SHANGJI_COMPANY_TIMEZONE", DEFAULT_TIMEZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"SHANGJI_COMPANY_TIMEZONE={name!r} is not an IANA time zone") from exc


def today(now: datetime, tz: ZoneInfo | None = None) -> date:
    """The company's date at the instant ``now`` (an aware datetime)."""
    return now.astimezone(tz or zone()).date()


def start_of_day(day: date, tz: ZoneInfo | None = None) -> datetime:
    """The UTC instant at which ``day`` begins in the company's zone."""
    return datetime.combine(day, time.min, tzinfo=tz or zone()).astimezone(UTC)


def day_range(first: date, last: date, tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """[start of ``first``, start of the day after ``last``) as UTC instants."""
    return start_of_day(first, tz), start_of_day(last + timedelta(days=1), tz)


def week_start(day: date) -> date:
    """Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
