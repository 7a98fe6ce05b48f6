"""Notify use cases: a command in, state out, one transaction each."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from notify.domain import model
from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit.errors import InvalidArgument, NotFound

OPPORTUNITY_REGISTERED_CONSUMER = "notify.on_opportunity_registered"
OPPORTUNITY_REGISTERED_TYPE = "shangji.opportunities.v1.OpportunityRegistered"

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class NotifyRegistration:
    opportunity: str
    owner_id: str
    title: str
    customer_company: str
    stage_display_name: str
    registrant: str


@dataclass(frozen=True)
class NotificationPage:
    notifications: list[model.Notification]
    next_page_token: str
    unread_count: int


def notify_registration(cmd: NotifyRegistration, event_id: str, uow: NotifyUnitOfWork) -> model.Notification | None:
    """The owner's notice of a newly registered deal; None when this event was already handled."""
    notification = model.opportunity_registered(
        id=str(uuid.uuid4()), recipient_id=cmd.owner_id, opportunity=cmd.opportunity, title=cmd.title,
        customer_company=cmd.customer_company, stage_display_name=cmd.stage_display_name, registrant=cmd.registrant,
        now=datetime.now(UTC))
    with uow:
        if not uow.claim_event(OPPORTUNITY_REGISTERED_CONSUMER, event_id, OPPORTUNITY_REGISTERED_TYPE):
            return None
        created = uow.notifications.add(notification, event_id)
        uow.commit()
        return notification if created else None


def list_notifications(caller_id: str, page_size: int, page_token: str, unread_only: bool,
                       uow: NotifyUnitOfWork) -> NotificationPage:
    """The caller's notifications, newest first, with the count of all their unread ones."""
    limit = _page_size(page_size)
    after = _decode_page_token(page_token)
    recipient_id = _user_id(caller_id)
    if recipient_id is None:
        return NotificationPage([], "", 0)
    with uow:
        # One row beyond the page tells whether another page exists, so the last page carries no token.
        rows = uow.notifications.list_received(recipient_id, limit + 1, after, unread_only)
        unread = uow.notifications.count_unread(recipient_id)
    page = rows[:limit]
    token = _encode_page_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""
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


def _page_size(page_size: int) -> int:
    if page_size < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    return min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _encode_page_token(create_time: datetime, id: str) -> str:
    return base64.urlsafe_b64encode(f"{create_time.isoformat()}|{id}".encode()).decode()


def _decode_page_token(token: str) -> tuple[datetime, str] | None:
    if not token:
        return None
    try:
        time_text, _, id_text = base64.urlsafe_b64decode(token.encode("ascii")).decode().partition("|")
        time = datetime.fromisoformat(time_text)
        last_id = str(uuid.UUID(id_text))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidArgument.field("page_token", "not a page token returned by this API") from exc
    if time.tzinfo is None:
        raise InvalidArgument.field("page_token", "not a page token returned by this API")
    return time, last_id
