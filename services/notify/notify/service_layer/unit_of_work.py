"""The notify unit of work: one transaction over notifications, with its outbox and inbox.

Notify emits no events yet, so there is no ``publish``; it arrives with the first notify event proto.
"""

from __future__ import annotations

from notify.adapters.orm import metadata
from notify.adapters.repository import NotificationRepository
from shangji_kit.uow import UnitOfWork


class NotifyUnitOfWork(UnitOfWork):
    notifications: NotificationRepository

    def __init__(self, sessions) -> None:
        super().__init__("notify", sessions, metadata)

    def _start(self, session) -> None:
        self.notifications = NotificationRepository(session)
