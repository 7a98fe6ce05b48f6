"""Notify use cases: a command in, state out, one transaction each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from notify.domain import model
from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit import paging
from shangji_kit.errors import NotFound
from shangji_kit.inbox import Delivery


@dataclass(frozen=True)
class NoticeRequest:
    """What one event asks notify to say: a template kind, who hears it (users ids, primary first), the
    resource it is about, and the facts the template words."""

    kind: str
    recipients: list[str]
    subject: str
    facts: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationPage:
    notifications: list[model.Notification]
    next_page_token: str
    unread_count: int


def notify(request: NoticeRequest, delivery: Delivery, uow: NotifyUnitOfWork) -> list[model.Notification]:
    """Store the notices of one event; [] when this consumer already handled it.

    The inbox claim and the notices commit together, so a redelivery (or a concurrent second
    delivery) makes none; (source event, recipient) is unique as a second guard.
    """
    recipients = list(dict.fromkeys(r for r in request.recipients if r))
    made = model.notices(ids=[str(uuid.uuid4()) for _ in recipients], kind=request.kind, recipients=recipients,
                         subject=request.subject, facts=request.facts, now=datetime.now(UTC))
    with uow:
        if not uow.claim(delivery):
            return []
        created = [n for n in made if uow.notifications.add(n, delivery.event_id)]
        uow.commit()
        return created


def list_notifications(caller_id: str, page_size: int, page_token: str, unread_only: bool,
                       uow: NotifyUnitOfWork) -> NotificationPage:
    """The caller's notifications, newest first, with the count of all their unread ones."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    recipient_id = _user_id(caller_id)
    if recipient_id is None:
        return NotificationPage([], "", 0)
    with uow:
        # One row beyond the page tells whether another page exists, so the last page carries no token.
        rows = uow.notifications.list_received(recipient_id, limit + 1, after, unread_only)
        unread = uow.notifications.count_unread(recipient_id)
    page = rows[:limit]
    token = paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""
    return NotificationPage(page, token, unread)


def mark_notification_read(notification_id: str, caller_id: str, uow: NotifyUnitOfWork) -> model.Notification:
    with uow:
        notification = uow.notifications.get_for_update(notification_id)
        # Someone else's notification gets the same answer as a missing one.
        if notification is None or notification.recipient_id != _user_id(caller_id):
            raise NotFound(f"notifications/{notification_id}")
        if notification.mark_read(datetime.now(UTC)):
            uow.notifications.save_read(notification)
            uow.commit()
        return notification


def _user_id(caller_id: str) -> str | None:
    """The caller as a teams user id, or None when the token's subject is not one (it then receives nothing)."""
    try:
        return str(uuid.UUID(caller_id))
    except (ValueError, TypeError):
        return None
