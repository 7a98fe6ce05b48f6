"""In-app notifications in PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from notify.adapters.orm import notifications
from notify.domain.model import Notification
from shangji_kit import plans
from shangji_kit.statements import insert_or_skip

_COLUMNS = ("id", "recipient_id", "title", "body", "subject", "read", "create_time", "read_time", "notice_type")


def _to_notification(row) -> Notification:
    return Notification(**{c: getattr(row, c) for c in _COLUMNS})


_INSERT = insert_or_skip(notifications, [*_COLUMNS, "source_event_id"], returning="id",
                         conflict_columns=["source_event_id", "recipient_id"])
# A notification by id, built once; PostgreSQL may keep the plans of these keyed statements (``plans``).
_N = notifications.c
_GET = plans.generic(sa.select(notifications).where(_N.id == sa.bindparam("id", type_=_N.id.type)))
_GET_FOR_UPDATE = _GET.with_for_update()
_SAVE_READ = plans.generic(sa.update(notifications).where(_N.id == sa.bindparam("match_id", type_=_N.id.type))
                           .values(read=sa.bindparam("read", type_=_N.read.type),
                                   read_time=sa.bindparam("read_time", type_=_N.read_time.type)))


class NotificationRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, notification: Notification, source_event_id: str) -> bool:
        """Insert; False when this source event already notified this recipient (nothing written)."""
        values = {c: getattr(notification, c) for c in _COLUMNS}
        values["source_event_id"] = source_event_id
        return self.session.execute(_INSERT, values).first() is not None

    def get_for_update(self, notification_id: str) -> Notification | None:
        """Locked until commit, so two concurrent mark-reads cannot both set the read time."""
        row = self.session.execute(_GET_FOR_UPDATE, {"id": notification_id}).first()
        return _to_notification(row) if row else None

    def save_read(self, notification: Notification) -> None:
        self.session.execute(_SAVE_READ, {"match_id": notification.id, "read": notification.read,
                                          "read_time": notification.read_time})

    def list_received(self, recipient_id: str, limit: int, after: tuple[datetime, str] | None,
                      unread_only: bool) -> list[Notification]:
        """Newest first, in the order of the (recipient_id, create_time DESC, id) index."""
        stmt = sa.select(notifications).where(notifications.c.recipient_id == recipient_id)
        if unread_only:
            stmt = stmt.where(sa.not_(notifications.c.read))
        if after is not None:
            time, last_id = after
            stmt = stmt.where(sa.or_(notifications.c.create_time < time,
                                     sa.and_(notifications.c.create_time == time, notifications.c.id > last_id)))
        stmt = stmt.order_by(notifications.c.create_time.desc(), notifications.c.id).limit(limit)
        return [_to_notification(row) for row in self.session.execute(stmt)]

    def count_unread(self, recipient_id: str) -> int:
        stmt = (sa.select(sa.func.count()).select_from(notifications)
                .where(notifications.c.recipient_id == recipient_id, sa.not_(notifications.c.read)))
        return self.session.execute(stmt).scalar_one()

    def mark_all_read(self, recipient_id: str, now: datetime) -> int:
        stmt = (sa.update(notifications)
                .where(notifications.c.recipient_id == recipient_id, sa.not_(notifications.c.read))
                .values(read=True, read_time=now))
        return self.session.execute(stmt).rowcount

    def get(self, notification_id: str) -> Notification | None:
        row = self.session.execute(_GET, {"id": notification_id}).first()
        return _to_notification(row) if row else None

    def newer_than(self, recipient_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Notification]:
        """Oldest first after ``after``; with None, only the newest one (where a fresh stream starts)."""
        n = notifications
        stmt = sa.select(n).where(n.c.recipient_id == recipient_id)
        if after is None:
            stmt = stmt.order_by(n.c.create_time.desc(), n.c.id).limit(1)
            return [_to_notification(row) for row in self.session.execute(stmt)]
        time, last_id = after
        stmt = stmt.where(sa.or_(n.c.create_time > time, sa.and_(n.c.create_time == time, n.c.id > last_id)))
        stmt = stmt.order_by(n.c.create_time, n.c.id).limit(limit)
        return [_to_notification(row) for row in self.session.execute(stmt)]
