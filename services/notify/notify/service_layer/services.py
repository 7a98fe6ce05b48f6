"""Notify use cases: a command in, state out, one transaction each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from notify.domain import model
from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit import paging
from shangji_kit.errors import NotFound

OPPORTUNITY_REGISTERED_CONSUMER = "notify.on_opportunity_registered"
OPPORTUNITY_REGISTERED_TYPE = "shangji.opportunities.v1.OpportunityRegistered"
TEAM_MEMBER_ADDED_CONSUMER = "notify.on_team_member_added"
TEAM_MEMBER_ADDED_TYPE = "shangji.teams.v1.OpportunityTeamMemberAdded"


@dataclass(frozen=True)
class NotifyRegistration:
    opportunity: str
    owner_id: str
    title: str
    customer_company: str
    stage_display_name: str
    registrant: str


@dataclass(frozen=True)
class NotifyTeamMember:
    opportunity: str
    member_id: str
    role: str
    added_by: str


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
    return _deliver(notification, OPPORTUNITY_REGISTERED_CONSUMER, event_id, OPPORTUNITY_REGISTERED_TYPE, uow)


def notify_team_member(cmd: NotifyTeamMember, event_id: str, uow: NotifyUnitOfWork) -> model.Notification | None:
    """The added member's notice that they joined a deal's team; None when this event was already handled."""
    notification = model.team_member_added(
        id=str(uuid.uuid4()), recipient_id=cmd.member_id, opportunity=cmd.opportunity, role=cmd.role,
        added_by=cmd.added_by, now=datetime.now(UTC))
    return _deliver(notification, TEAM_MEMBER_ADDED_CONSUMER, event_id, TEAM_MEMBER_ADDED_TYPE, uow)


def _deliver(notification: model.Notification, consumer: str, event_id: str, event_type: str,
             uow: NotifyUnitOfWork) -> model.Notification | None:
    """Store the notice of one event: the inbox claim and the notice commit together, so a redelivery
    (or a concurrent second delivery) makes none."""
    with uow:
        if not uow.claim_event(consumer, event_id, event_type):
            return None
        created = uow.notifications.add(notification, event_id)
        uow.commit()
        return notification if created else None


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
