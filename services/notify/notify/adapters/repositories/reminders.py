"""Reminders due later, in PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from notify.adapters.orm import reminders
from notify.domain.reminders import Reminder
from shangji_kit.statements import insert_or_skip

_COLUMNS = ("id", "notice_type", "subject", "recipient_id", "escalate", "due_time", "facts")
_INSERT = insert_or_skip(reminders, _COLUMNS, returning="id",
                         conflict_columns=["notice_type", "subject", "recipient_id", "due_time"])


# Many reminders in one statement built once, one array per column: a multi-row VALUES is compiled anew for every
# event (an INSERT ... ON CONFLICT has no cache key), which was a sixth of notify's handling of a registered deal.
_INSERT_ALL = sa.text("""
    INSERT INTO reminders (id, notice_type, subject, recipient_id, escalate, due_time, facts)
    SELECT r.id, r.notice_type, r.subject, r.recipient_id, r.escalate, r.due_time, CAST(r.facts AS jsonb)
    FROM unnest(CAST(:ids AS uuid[]), CAST(:notice_types AS text[]), CAST(:subjects AS text[]),
                CAST(:recipient_ids AS text[]), CAST(:escalates AS boolean[]), CAST(:due_times AS timestamptz[]),
                CAST(:facts AS text[])) AS r(id, notice_type, subject, recipient_id, escalate, due_time, facts)
    ON CONFLICT (notice_type, subject, recipient_id, due_time) DO NOTHING
    RETURNING id""")


def _to_reminder(row) -> Reminder:
    return Reminder(**{c: getattr(row, c) for c in _COLUMNS})


class ReminderRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, reminder: Reminder) -> bool:
        return self.session.execute(_INSERT, {c: getattr(reminder, c) for c in _COLUMNS}).first() is not None

    def add_all(self, planned: list[Reminder]) -> int:
        """One statement for an event's reminders (a cadence is three); how many were new."""
        if not planned:
            return 0
        values = {"ids": [r.id for r in planned], "notice_types": [r.notice_type for r in planned],
                  "subjects": [r.subject for r in planned], "recipient_ids": [r.recipient_id for r in planned],
                  "escalates": [r.escalate for r in planned], "due_times": [r.due_time for r in planned],
                  "facts": [json.dumps(r.facts) for r in planned]}
        return len(self.session.execute(_INSERT_ALL, values).all())

    def cancel(self, subject: str, notice_types: tuple[str, ...]) -> int:
        r = reminders
        return self.session.execute(sa.update(r).where(r.c.subject == subject, r.c.notice_type.in_(notice_types),
                                                       r.c.state == "PENDING").values(state="CANCELLED")).rowcount

    def move(self, deal: str, from_id: str, to_id: str) -> int:
        """``from_id``'s pending reminders about the deal and its tasks go to ``to_id``; one the new recipient
        already has, in any state (same type, subject and time: the once key), is cancelled instead. How many
        moved."""
        r, mine = reminders, reminders.alias("mine")
        about = sa.and_(r.c.state == "PENDING", r.c.recipient_id == from_id,
                        sa.or_(r.c.subject == deal, r.c.subject.startswith(f"{deal}/tasks/", autoescape=True)))
        theirs = sa.exists().where(mine.c.recipient_id == to_id,
                                   mine.c.notice_type == r.c.notice_type, mine.c.subject == r.c.subject,
                                   mine.c.due_time == r.c.due_time)
        moved = self.session.execute(sa.update(r).where(about, ~theirs).values(recipient_id=to_id)).rowcount
        self.session.execute(sa.update(r).where(about).values(state="CANCELLED"))
        return moved

    def claim_due(self, now: datetime, limit: int) -> list[Reminder]:
        r = reminders
        stmt = (sa.select(r).where(r.c.state == "PENDING", r.c.due_time <= now).order_by(r.c.due_time)
                .limit(limit).with_for_update(skip_locked=True))
        return [_to_reminder(row) for row in self.session.execute(stmt)]

    def fired(self, reminder_id: str) -> None:
        self.session.execute(sa.update(reminders).where(reminders.c.id == reminder_id).values(state="FIRED"))
