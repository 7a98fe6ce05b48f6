"""Unit of work: one transaction, the repositories that use it, and the events it will publish."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from shangji_kit.inbox import Delivery, Inbox
from shangji_kit.outbox import Outbox


class UnitOfWork:
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls back.

    Services subclass it and build their repositories in ``_start(session)``.
    """

    def __init__(self, service: str, sessions: Callable[[], sa.Connection], metadata: sa.MetaData) -> None:
        self.service = service
        self._sessions = sessions
        self._outbox_table = metadata.tables["outbox"]
        self._inbox = Inbox(metadata.tables["inbox"])
        self.session: sa.Connection | None = None
        self.outbox: Outbox | None = None
        self._after_commit: list[Callable[[], None]] = []

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self.outbox = Outbox(self._outbox_table, self.service)
        self._start(self.session)
        return self

    def _start(self, session: sa.Connection) -> None:
        """Hook for subclasses: create repositories on ``session``."""

    def __exit__(self, *exc: object) -> None:
        try:
            self.rollback()
        finally:
            self.session.close()
            self.session = None

    def claim_event(self, consumer: str, event_id: str, event_type: str) -> bool:
        return self._inbox.claim(self.session, consumer, event_id, event_type)

    def claim(self, delivery: Delivery) -> bool:
        """True the first time this consumer sees this event (same transaction as its effect)."""
        return self.claim_event(delivery.consumer, delivery.event_id, delivery.event_type)

    def commit(self) -> None:
        self.outbox.flush(self.session)
        self.session.commit()

    def rollback(self) -> None:
        if self.session is not None:
            self.session.rollback()
        if self.outbox is not None:
            self.outbox.pending.clear()
