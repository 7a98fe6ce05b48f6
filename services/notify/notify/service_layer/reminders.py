"""The reminders workflow: reminders whose time has come become notices (through the notices workflow,
with the reminder's id as their source, so a reminder fires once)."""

from __future__ import annotations

from datetime import datetime

from notify.domain.reminders import Reminder
from notify.service_layer.context import Rules
from notify.service_layer.notices import NoticeRequest, store_notices
from notify.service_layer.unit_of_work import NotifyUnitOfWork


def request_of(reminder: Reminder) -> NoticeRequest:
    if reminder.escalate:
        return NoticeRequest(reminder.notice_type, [], reminder.subject, reminder.facts,
                             managers_of=(reminder.recipient_id,))
    return NoticeRequest(reminder.notice_type, [reminder.recipient_id], reminder.subject, reminder.facts)


def fire_due(uow: NotifyUnitOfWork, rules: Rules, now: datetime) -> int:
    """One batch of due reminders turned into notices; how many fired."""
    with uow:
        due = uow.reminders.claim_due(now, rules.batch)
        for reminder in due:
            store_notices(uow, request_of(reminder), reminder.id, rules, now)
            uow.reminders.fired(reminder.id)
        uow.commit()
    return len(due)
