"""The rules behind the reports, without I/O: periods and their buckets, weighting and forecast categories,
the sales-cycle distribution, target periods and splits, rates.

Periods are days of the company's calendar (``shangji_kit.company_time``), both ends included. Amounts are
Decimals summed whatever the deals' currencies (the suite keeps one currency per company in practice).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from statistics import median

from shangji_kit.errors import InvalidArgument

# Report periods are the kit's (one way for every service); the names are part of these rules too.
from shangji_kit.periods import (  # noqa: F401
    MONTH,
    QUARTER,
    WEEK,
    YEAR,
    Period,
    buckets,
    next_start,
    parse_period,
    period_start,
)

CENT = Decimal("0.01")

# Forecast categories from the deal's effective probability (its override, else its stage's): the usual
# commit / best case / pipeline split, best case including commit.
COMMIT_PROBABILITY = 70
BEST_CASE_PROBABILITY = 40

# Days from registration to win, both bounds included; None: no upper bound.
CYCLE_BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 30), (31, 60), (61, 90), (91, 180), (181, None))

def effective_probability(override: int | None, stage_probability: int) -> int:
    return stage_probability if override is None else override


def weighted(amount: Decimal, probability: int) -> Decimal:
    return amount * probability / 100


def forecast_category(probability: int) -> str:
    """"commit", "best_case" or "pipeline"."""
    if probability >= COMMIT_PROBABILITY:
        return "commit"
    if probability >= BEST_CASE_PROBABILITY:
        return "best_case"
    return "pipeline"


def money(value: Decimal | None) -> str:
    """Two places, rounded half up; "0.00" for nothing."""
    return str((value or Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP))


def rate(part: Decimal | int, whole: Decimal | int) -> str:
    """part / whole with four places; "" when whole is zero (no denominator, no rate)."""
    if not whole:
        return ""
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def days_text(value: float | Decimal | None) -> str:
    return "" if value is None else str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class CycleBucket:
    min_days: int
    max_days: int | None
    count: int


@dataclass(frozen=True)
class SalesCycle:
    buckets: tuple[CycleBucket, ...]
    won_count: int
    average_days: Decimal | None
    median_days: Decimal | None


def sales_cycle(days: Sequence[int]) -> SalesCycle:
    """The distribution of registration-to-win days over ``CYCLE_BUCKETS``."""
    counts = [sum(1 for d in days if lo <= d and (hi is None or d <= hi)) for lo, hi in CYCLE_BUCKETS]
    return SalesCycle(
        buckets=tuple(CycleBucket(lo, hi, n) for (lo, hi), n in zip(CYCLE_BUCKETS, counts, strict=True)),
        won_count=len(days),
        average_days=Decimal(sum(days)) / len(days) if days else None,
        median_days=Decimal(str(median(days))) if days else None)


# --- win reasons -----------------------------------------------------------------------------------------

REASON_MAX = 200
COMPETITORS_MAX = 20


def win_reason(reason: str, competitors: Sequence[str]) -> tuple[str, list[str]]:
    """WinOpportunity's reason and competitors beaten, trimmed; blanks and repeats dropped."""
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise InvalidArgument.field("reason", f"at most {REASON_MAX} characters")
    beaten: list[str] = []
    for i, name in enumerate(competitors):
        name = name.strip()
        if len(name) > REASON_MAX:
            raise InvalidArgument.field(f"competitors_beaten[{i}]", f"at most {REASON_MAX} characters")
        if name and name not in beaten:
            beaten.append(name)
    if len(beaten) > COMPETITORS_MAX:
        raise InvalidArgument.field("competitors_beaten", f"at most {COMPETITORS_MAX} competitors")
    return reason, beaten


# --- targets ---------------------------------------------------------------------------------------------

TARGET_PERIODS = (MONTH, QUARTER, YEAR)


def target_period(period_type: str, start: date, field: str = "target.start_date") -> Period:
    """The month, quarter or year a target covers; its start must be that period's first day."""
    if period_start(start, period_type) != start:
        raise InvalidArgument.field(field, f"{start.isoformat()} is not the first day of a {period_type}")
    return Period(start, next_start(start, period_type) - timedelta(days=1))


def split_evenly(amount: Decimal, members: Sequence[str]) -> list[tuple[str, Decimal]]:
    """``amount`` in equal shares to ``members`` (sorted by the caller); the cents left go one each to the first."""
    if not members:
        return []
    share = (amount / len(members)).quantize(CENT, rounding=ROUND_DOWN)
    left = int((amount - share * len(members)) / CENT)
    return [(m, share + (CENT if i < left else 0)) for i, m in enumerate(members)]


def check_shares(amount: Decimal, shares: Iterable[tuple[str, Decimal]], field: str = "shares") -> None:
    shares = list(shares)
    seen: set[str] = set()
    for i, (subject, _) in enumerate(shares):
        if subject in seen:
            raise InvalidArgument.field(f"{field}[{i}].subject", f"users/{subject} is named twice")
        seen.add(subject)
    total = sum((a for _, a in shares), Decimal(0))
    if total != amount:
        raise InvalidArgument.field(field, f"the shares add up to {money(total)}, the target is {money(amount)}")


def months_overlap(target: Period, bucket: Period) -> Decimal:
    """The share of a target's period that lies in ``bucket``, in whole months (targets cover whole months)."""
    def months(p: Period) -> int:
        return (p.end.year - p.start.year) * 12 + p.end.month - p.start.month + 1

    start, end = max(target.start, bucket.start), min(target.end, bucket.end)
    if start > end:
        return Decimal(0)
    return Decimal(months(Period(start, end))) / months(target)
