"""notify's unit of work on PostgreSQL: its repositories on one connection, the kit's inbox and outbox, and
``pg_notify`` to wake the front's in-app streams (PostgreSQL sends it on commit, never on rollback)."""

from __future__ import annotations

import sqlalchemy as sa

from notify.adapters.orm import metadata
from notify.adapters.repositories.deal_owners import DealOwnerRepository
from notify.adapters.repositories.deliveries import DeliveryRepository
from notify.adapters.repositories.notifications import NotificationRepository
from notify.adapters.repositories.organisation import OrganisationRepository
from notify.adapters.repositories.preferences import PreferencesRepository, RobotRepository
from notify.adapters.repositories.reminders import ReminderRepository
from shangji_kit.uow import UnitOfWork

WAKE_CHANNEL = "notify_notices"
_WAKE = sa.text("SELECT pg_notify(:channel, :recipient)")


class SqlNotifyUnitOfWork(UnitOfWork):
    """A ``service_layer.unit_of_work.NotifyUnitOfWork`` by shape (the adapter imports no service layer)."""

    def __init__(self, sessions) -> None:
        super().__init__("notify", sessions, metadata)

    def _start(self, session) -> None:
        self.notifications = NotificationRepository(session)
        self.deliveries = DeliveryRepository(session)
        self.preferences = PreferencesRepository(session)
        self.robots = RobotRepository(session)
        self.org = OrganisationRepository(session)
        self.reminders = ReminderRepository(session)
        self.deal_owners = DealOwnerRepository(session)
        self._woken: set[str] = set()

    def wake(self, recipient_id: str) -> None:
        if recipient_id not in self._woken:
            self._woken.add(recipient_id)
            self.session.execute(_WAKE, {"channel": WAKE_CHANNEL, "recipient": recipient_id})
