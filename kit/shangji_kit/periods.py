"""Report periods: company days from a start to an end, both included, and the weeks, months, quarters and
years that cover them. Days are the company's (``shangji_kit.company_time``); a request's period is parsed
here so every service refuses a bad one the same way (INVALID_ARGUMENT naming ``period.start_date`` or
``period.end_date``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from shangji_kit import company_time
from shangji_kit.errors import FieldViolation, InvalidArgument

MAX_PERIOD_DAYS = 5 * 366
WEEK, MONTH, QUARTER, YEAR = "week", "month", "quarter", "year"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_period(start_text: str, end_text: str, field: str = "period") -> Period:
    """A report period; INVALID_ARGUMENT naming ``period.start_date`` / ``period.end_date``."""
    violations: list[FieldViolation] = []
    days = {}
    for name, text in (("start_date", start_text), ("end_date", end_text)):
        text = text.strip()
        if not text:
            violations.append(FieldViolation(f"{field}.{name}", "required: YYYY-MM-DD"))
            continue
        try:
            days[name] = date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            days[name] = None
        if days[name] is None:
            violations.append(FieldViolation(f"{field}.{name}", f"{text!r} is not a date YYYY-MM-DD"))
    if violations:
        raise InvalidArgument(violations)
    start, end = days["start_date"], days["end_date"]
    if end < start:
        raise InvalidArgument.field(f"{field}.end_date", f"{end.isoformat()} is before start_date {start.isoformat()}")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidArgument.field(f"{field}.end_date", "a report covers at most 5 years")
    return Period(start, end)


def period_start(day: date, granularity: str) -> date:
    if granularity == WEEK:
        return company_time.week_start(day)
    if granularity == MONTH:
        return company_time.month_start(day)
    if granularity == QUARTER:
        return company_time.quarter_start(day)
    return date(day.year, 1, 1)


def next_start(start: date, granularity: str) -> date:
    if granularity == WEEK:
        return start + timedelta(days=7)
    months = {MONTH: 1, QUARTER: 3, YEAR: 12}[granularity]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def buckets(period: Period, granularity: str) -> list[Period]:
    """The weeks, months or quarters that meet ``period``, whole (a report by month shows whole months)."""
    out = []
    start = period_start(period.start, granularity)
    while start <= period.end:
        following = next_start(start, granularity)
        out.append(Period(start, following - timedelta(days=1)))
        start = following
    return out


