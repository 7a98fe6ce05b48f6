"""Alerts for the notify service, as pure rules over a deal and a clock. Plain Python.

Each alert has a ``kind`` and a ``condition_key``: the use case raises it once per (deal, kind, key), so a
deal whose close date moves, or which enters a stage again, can be alerted again; the same condition never twice.

- close date approaching: an open, active deal whose expected close date is today or within the next 7 days
  (key: the close date);
- close date passed: an open, active deal whose expected close date is before today (key: the close date);
- stalled: an open, active deal in its stage longer than the stage's ``max_days`` (key: the stage and its entry
  time);
- big deal: an active deal whose amount is above the company's threshold (key: the threshold), raised at
  registration and update, with the owner's managers.

"Today" is the company's date at ``now`` (``shangji_kit.company_time``, default Asia/Shanghai), not UTC's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from opportunities.domain import registration
from opportunities.domain.pipeline import OPEN
from shangji_kit import company_time

CLOSE_DATE_APPROACHING = "close_date_approaching"
CLOSE_DATE_PASSED = "close_date_passed"
STALLED = "stalled"
BIG_DEAL = "big_deal"
KINDS = (CLOSE_DATE_APPROACHING, CLOSE_DATE_PASSED, STALLED, BIG_DEAL)

APPROACHING_DAYS = 7


@dataclass(frozen=True)
class Alert:
    opportunity: object  # model.Opportunity (not imported: model imports nothing of this module)
    kind: str
    condition_key: str
    detect_time: datetime
    # close date alerts: days left (approaching) or overdue (passed)
    days: int = 0
    # stalled
    stage_key: str = ""
    stage_enter_time: datetime | None = None
    max_days: int = 0
    # big deal
    threshold: Decimal | None = None
    manager_ids: tuple[str, ...] = ()


def today_of(now: datetime) -> date:
    """The company's date at ``now`` (overdue and close-date alerts turn over at the company's midnight)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return company_time.today(now)


def _watched(opportunity) -> bool:
    """Alerts concern live deals: active registrations with an owner, in an open stage."""
    return (opportunity.registration_state == registration.ACTIVE and opportunity.owner_id is not None
            and opportunity.stage_category == OPEN)


def close_date_alert(opportunity, now: datetime) -> Alert | None:
    close = opportunity.expected_close_date
    if close is None or not _watched(opportunity):
        return None
    left = (close - today_of(now)).days
    if left < 0:
        return Alert(opportunity, CLOSE_DATE_PASSED, close.isoformat(), now, days=-left)
    if left <= APPROACHING_DAYS:
        return Alert(opportunity, CLOSE_DATE_APPROACHING, close.isoformat(), now, days=left)
    return None


def stalled_alert(opportunity, max_days: int | None, now: datetime) -> Alert | None:
    """In its stage longer than ``max_days`` full days (None: the stage has no limit)."""
    entered = opportunity.stage_enter_time
    if max_days is None or entered is None or not _watched(opportunity):
        return None
    if now - entered <= timedelta(days=max_days):
        return None
    return Alert(opportunity, STALLED, f"{opportunity.stage_key}@{entered.astimezone(UTC).isoformat()}", now,
                 days=(now - entered).days, stage_key=opportunity.stage_key, stage_enter_time=entered,
                 max_days=max_days)


def big_deal_alert(opportunity, threshold: Decimal | None, manager_ids: tuple[str, ...], now: datetime
                   ) -> Alert | None:
    """Amount strictly above the company's threshold (None: no big-deal alerts). The amount is compared as it
    is, whatever its currency (the company sets one threshold)."""
    if threshold is None or opportunity.amount is None or not _watched(opportunity):
        return None
    if opportunity.amount <= threshold:
        return None
    managers = tuple(m for m in dict.fromkeys(manager_ids) if m != opportunity.owner_id)
    return Alert(opportunity, BIG_DEAL, f"above {threshold}", now, threshold=threshold, manager_ids=managers)


def scan(opportunity, max_days: int | None, now: datetime) -> list[Alert]:
    """The time-driven alerts due for one deal at ``now``."""
    return [a for a in (close_date_alert(opportunity, now), stalled_alert(opportunity, max_days, now)) if a]
