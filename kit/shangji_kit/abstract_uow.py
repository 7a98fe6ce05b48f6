"""What the service layer sees of a unit of work, so use cases run against PostgreSQL or in-memory fakes.

The real one is ``shangji_kit.uow.UnitOfWork`` (SQLAlchemy, outbox and inbox tables); the fake is
``shangji_kit.testing.fakes.FakeUnitOfWork``. A service's own unit of work adds its repositories (one
per aggregate) as attributes; use cases type against the service's abstract class, never an adapter.

A Protocol, so a service declares ``class XUnitOfWork(AbstractUnitOfWork, Protocol)`` with its
repositories in its service layer, and its SQL unit of work (an adapter subclassing ``UnitOfWork``)
is one by shape without importing the service layer. Subclassing it explicitly (as ``UnitOfWork`` and
the fake do) inherits ``publish`` and the context manager, and abstract methods are enforced.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from typing import Any, Protocol, Self

from google.protobuf.message import Message

from shangji_kit.inbox import Delivery
from shangji_kit.request_ids import RequestIds

# A domain event -> (the proto message to publish, the resource name it is about). The service's outbound
# adapter provides it and bootstrap hands it to the unit of work, so the service layer imports no adapter.
EventEncoder = Callable[[Any], tuple[Message, str]]


class AbstractUnitOfWork(Protocol):
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls back.

    ``add`` queues a domain event for the outbox of this transaction; ``claim`` records an event this
    service consumes (False for a redelivery); ``request_ids`` remembers command request ids per caller.
    """

    request_ids: RequestIds

    def __enter__(self) -> Self:
        return self

    _reading = False

    def __exit__(self, *exc: object) -> None:
        try:
            self.rollback()
        finally:
            self._reading = False

    def reading(self) -> Self:
        """Say that this use case only reads: ``with uow.reading(): ...``. The SQL unit of work then runs its
        statements outside a transaction; every unit of work, the fakes too, refuses ``add``, ``commit`` and
        ``claim`` until the block ends, so a use case that reads cannot start writing by mistake."""
        self._reading = True
        return self

    def _check_writable(self) -> None:
        if self._reading:
            raise RuntimeError("a unit of work opened with reading() only reads")

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def claim(self, delivery: Delivery) -> bool:
        """True the first time this consumer sees this event (same transaction as its effect)."""

    @abc.abstractmethod
    def add(self, event: object) -> None:
        """A domain event to publish when this transaction commits."""

    def publish(self, events: list) -> None:
        """Queue every event of an aggregate's list, then empty it (the aggregate has told them)."""
        for event in events:
            self.add(event)
        events.clear()

    def add_all(self, events: Iterable[object]) -> None:
        for event in events:
            self.add(event)
