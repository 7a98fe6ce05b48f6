"""Unit of work: one transaction, the repositories that use it, and the events it will publish."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import sqlalchemy as sa

from shangji_kit.abstract_uow import AbstractUnitOfWork, EventEncoder
from shangji_kit.inbox import Delivery, Inbox
from shangji_kit.outbox import Outbox
from shangji_kit.request_ids import TABLE as REQUEST_IDS_TABLE
from shangji_kit.request_ids import SqlRequestIds

S = TypeVar("S")


class UnitOfWork(AbstractUnitOfWork):
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls back.

    Services subclass it and build their repositories in ``_start(session)``. ``encoder`` (the
    service's outbound adapter, given at bootstrap) turns the domain events ``add`` receives into
    proto messages for the outbox. ``request_ids`` exists when the service's metadata has the
    ``idempotency_keys`` table.
    """

    def __init__(self, service: str, sessions: Callable[[], sa.Connection], metadata: sa.MetaData,
                 encoder: EventEncoder | None = None) -> None:
        self.service = service
        self._sessions = sessions
        self._outbox_table = metadata.tables["outbox"]
        self._inbox = Inbox(metadata.tables["inbox"])
        self._request_ids_table = metadata.tables.get(REQUEST_IDS_TABLE)
        self._encoder = encoder
        self.session: sa.Connection | None = None
        self.outbox: Outbox | None = None

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        if self._reading:
            # ``reading()``: autocommit, so no BEGIN before the first statement and no ROLLBACK after the last,
            # two round trips of a read of two or three. It sees nothing a transaction would not: under READ
            # COMMITTED each statement takes its own snapshot in one too. Not for reads that need a transaction
            # (a server-side cursor, ``SET LOCAL``, ``FOR UPDATE``). Client-side in psycopg (no round trip); the
            # pool hands the connection back as it was.
            self.session.execution_options(isolation_level="AUTOCOMMIT")
        self.outbox = Outbox(self._outbox_table, self.service, self._encoder)
        if self._request_ids_table is not None:
            self.request_ids = SqlRequestIds(self.session, self._request_ids_table)
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
            self._reading = False

    def claim_event(self, consumer: str, event_id: str, event_type: str) -> bool:
        self._check_writable()
        return self._inbox.claim(self.session, consumer, event_id, event_type)

    def claim(self, delivery: Delivery) -> bool:
        """True the first time this consumer sees this event (same transaction as its effect)."""
        return self.claim_event(delivery.consumer, delivery.event_id, delivery.event_type)

    def add(self, event: object) -> None:
        self._check_writable()
        self.outbox.add_event(event)

    def commit(self) -> None:
        self._check_writable()
        self.outbox.flush(self.session)
        self.session.commit()

    def rollback(self) -> None:
        if self.session is not None:
            self.session.rollback()
        if self.outbox is not None:
            self.outbox.pending.clear()


class StoreUnitOfWork(Generic[S]):
    """``with uow as store: ...``: a connection for one read model's store (reports), rolled back and closed on
    leaving; a store that writes commits through its own connection first. For a service's reads that need
    neither outbox nor inbox."""

    def __init__(self, sessions: Callable[[], sa.Connection], store: Callable[[sa.Connection], S]) -> None:
        self._sessions = sessions
        self._store = store
        self._conn: sa.Connection | None = None

    def __enter__(self) -> S:
        self._conn = self._sessions()
        return self._store(self._conn)

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None
