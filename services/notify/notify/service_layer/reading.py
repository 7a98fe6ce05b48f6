"""The in-app inbox workflow: the caller lists, counts and marks their notices, and streams new ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from notify.domain import model
from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit import paging
from shangji_kit.caller import user_id
from shangji_kit.errors import NotFound


@dataclass(frozen=True)
class NotificationPage:
    notifications: list[model.Notification]
    next_page_token: str
    unread_count: int


def list_notifications(caller_id: str, page_size: int, page_token: str, unread_only: bool,
                       uow: NotifyUnitOfWork) -> NotificationPage:
    """The caller's notifications, newest first, with the count of all their unread ones."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    recipient_id = user_id(caller_id)
    with uow:
        # One row beyond the page tells whether another page exists, so the last page carries no token.
        rows = uow.notifications.list_received(recipient_id, limit + 1, after, unread_only)
        unread = uow.notifications.count_unread(recipient_id)
    page = rows[:limit]
    token = paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""
    return NotificationPage(page, token, unread)


def mark_notification_read(notification_id: str, caller_id: str, uow: NotifyUnitOfWork,
                           now: datetime) -> model.Notification:
    with uow:
        notification = uow.notifications.get_for_update(notification_id)
        # Someone else's notification gets the same answer as a missing one.
        if notification is None or notification.recipient_id != user_id(caller_id):
            raise NotFound(f"notifications/{notification_id}")
        if notification.mark_read(now):
            uow.notifications.save_read(notification)
            uow.commit()
        return notification


def mark_all_read(caller_id: str, uow: NotifyUnitOfWork, now: datetime) -> int:
    """Marks every unread notice of the caller read; how many it marked."""
    recipient_id = user_id(caller_id)
    with uow:
        marked = uow.notifications.mark_all_read(recipient_id, now)
        uow.commit()
    return marked


def unread_count(caller_id: str, uow: NotifyUnitOfWork) -> int:
    recipient_id = user_id(caller_id)
    with uow:
        return uow.notifications.count_unread(recipient_id)


def stream_start(caller_id: str, resume_after_id: str | None, uow: NotifyUnitOfWork) -> tuple[datetime, str] | None:
    """Where a new stream starts: after the caller's notice ``resume_after_id``; NOT_FOUND when it is not theirs."""
    if resume_after_id is None:
        return None
    with uow:
        n = uow.notifications.get(resume_after_id)
    if n is None or n.recipient_id != user_id(caller_id):
        raise NotFound(f"notifications/{resume_after_id}")
    return n.create_time, n.id


def newer_notices(caller_id: str, after: tuple[datetime, str] | None, uow: NotifyUnitOfWork,
                  limit: int = 100) -> list[model.Notification]:
    """The caller's notices after ``after`` (create time, id), oldest first; the latest one when ``after`` is None
    is not sent (a fresh stream starts from now)."""
    recipient_id = user_id(caller_id)
    with uow:
        return uow.notifications.newer_than(recipient_id, after, limit)
