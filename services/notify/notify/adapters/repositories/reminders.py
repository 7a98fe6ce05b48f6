"""Reminders due later, in PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from notify.adapters.orm import reminders
from notify.domain.reminders import Reminder
from shangji_kit import plans
from shangji_kit.statements import insert_or_skip

_COLUMNS = ("id", "notice_type", "subject", "recipient_id", "escalate", "due_time", "facts")
_INSERT = insert_or_skip(reminders, _COLUMNS, returning="id",
                         conflict_columns=["notice_type", "subject", "recipient_id", "due_time"])


# Many reminders in one statement built once, their rows as one JSON parameter read as reminders' row type: a
# multi-row VALUES is compiled anew for every event (an INSERT ... ON CONFLICT has no cache key), and one array
# parameter per column costs more in psycopg's array dumping than the compile did.
# PostgreSQL may keep the plans of these (``plans``): the same plan whatever the rows.
_INSERT_ALL = plans.generic(sa.text("""
    INSERT INTO reminders (id, notice_type, subject, recipient_id, escalate, due_time, facts)
    SELECT r.id, r.notice_type, r.subject, r.recipient_id, r.escalate, r.due_time, r.facts
    FROM json_populate_recordset(NULL::reminders, CAST(:rows AS json)) AS r
    ON CONFLICT (notice_type, subject, recipient_id, due_time) DO NOTHING
    RETURNING id"""))
_FIRED = plans.generic(sa.update(reminders).where(reminders.c.id == sa.bindparam("match_id", type_=reminders.c.id.type))
                       .values(state="FIRED"))


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
        rows = json.dumps([{"id": r.id, "notice_type": r.notice_type, "subject": r.subject,
                            "recipient_id": r.recipient_id, "escalate": r.escalate,
                            "due_time": r.due_time.isoformat(), "facts": r.facts} for r in planned])
        return len(self.session.execute(_INSERT_ALL, {"rows": rows}).all())

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
        self.session.execute(_FIRED, {"match_id": reminder_id})
