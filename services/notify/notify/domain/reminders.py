"""Reminders due later and when: the follow-up cadence, a task due and overdue, a stalled deal's escalation.

Days are the company's (``shangji_kit.company_time``): a reminder "on day 3" is due at the reminder hour
of the third company day after the start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from shangji_kit import company_time

FOLLOW_UP = "follow_up_reminder"
TASK_DUE, TASK_OVERDUE = "task_due", "task_overdue"
STALLED_ESCALATION = "stalled_escalation"
REMINDER_HOUR = 9


@dataclass(frozen=True)
class Reminder:
    id: str
    notice_type: str
    subject: str
    recipient_id: str
    due_time: datetime
    facts: dict[str, object] = field(default_factory=dict)
    # Resolved when due: the recipient's managers instead of the recipient.
    escalate: bool = False


def at_reminder_hour(day: date, tz: ZoneInfo) -> datetime:
    return company_time.start_of_day(day, tz) + timedelta(hours=REMINDER_HOUR)


def follow_ups(*, ids: list[str], subject: str, recipient_id: str, title: str, start: datetime,
               days: tuple[int, ...], tz: ZoneInfo) -> list[Reminder]:
    """Day-N reminders after ``start`` (a deal registered, a lead claimed) until something is recorded."""
    first = company_time.today(start, tz)
    return [Reminder(i, FOLLOW_UP, subject, recipient_id, at_reminder_hour(first + timedelta(days=d), tz),
                     {"title": title, "since": first.isoformat(), "days": d})
            for i, d in zip(ids, sorted(set(days)), strict=False)]


def task_reminders(*, ids: list[str], task: str, assignee_id: str, due: date, facts: dict[str, object],
                   tz: ZoneInfo) -> list[Reminder]:
    """On the due day, and on the day after when still open."""
    return [Reminder(ids[0], TASK_DUE, task, assignee_id, at_reminder_hour(due, tz), dict(facts)),
            Reminder(ids[1], TASK_OVERDUE, task, assignee_id, at_reminder_hour(due + timedelta(days=1), tz),
                     {**facts, "days_overdue": 1})]


def stalled_escalation(*, id: str, deal: str, owner_id: str, facts: dict[str, object], now: datetime,
                       delay: timedelta) -> Reminder:
    """The owner's department head hears of the deal when it has not moved ``delay`` after the owner did."""
    return Reminder(id, STALLED_ESCALATION, deal, owner_id, now + delay, dict(facts), escalate=True)
