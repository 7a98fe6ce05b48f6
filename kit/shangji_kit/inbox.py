"""Idempotent inbox: a consumer records each event id in the transaction of its effect.

``@idempotent(consumer=...)`` is the one way an event use case does it: claim, effect, commit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar

import sqlalchemy as sa

from shangji_kit.statements import insert_or_skip

P = ParamSpec("P")
R = TypeVar("R")


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


@dataclass(frozen=True)
class Delivery:
    """One event as a consumer received it: the inbox records (consumer, event_id)."""

    consumer: str
    event_id: str
    event_type: str


@functools.cache
def _claim_statement(table: sa.Table) -> sa.TextClause:
    # Built once per process: a unit of work (and its inbox) is made per call.
    return insert_or_skip(table, ["consumer", "event_id", "event_type", "received_at"], returning="event_id")


class Inbox:
    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self._insert = _claim_statement(table)

    def claim(self, session: sa.Connection, consumer: str, event_id: str, event_type: str) -> bool:
        """True the first time ``consumer`` sees ``event_id``; False for a redelivery.

        INSERT ... ON CONFLICT is race-free: of two concurrent deliveries one inserts, the other
        waits for it and then finds the row (no check-then-insert window).
        """
        params = {"consumer": consumer, "event_id": event_id, "event_type": event_type,
                  "received_at": datetime.now(timezone.utc)}
        return session.execute(self._insert, params).first() is not None


class EventRef(Protocol):
    """What identifies a consumed event: an ``Envelope`` has both."""

    id: str
    type: str


class IdempotentUseCase(Generic[P, R]):
    """An event use case run once per (consumer, event): see ``idempotent``."""

    def __init__(self, effect: Callable[Concatenate[Any, P], R], consumer: str | None, skipped: Any) -> None:
        functools.update_wrapper(self, effect)
        self.effect = effect
        self.consumer = consumer
        self.skipped = skipped

    def __call__(self, event: EventRef | Delivery, uow: Any, *args: P.args, **kwargs: P.kwargs) -> R:
        delivery = self.delivery(event)
        with uow:
            if not uow.claim(delivery):
                return self.skipped
            result = self.effect(uow, *args, **kwargs)
            uow.commit()
            return result

    def delivery(self, event: EventRef | Delivery) -> Delivery:
        if isinstance(event, Delivery):
            return event
        if self.consumer is None:
            raise TypeError(f"{self.__name__} names no consumer: pass a Delivery")
        return Delivery(consumer=self.consumer, event_id=event.id, event_type=event.type)

    def as_consumer(self, consumer: str) -> IdempotentUseCase[P, R]:
        """The same effect under another consumer's inbox name (one use case behind several handlers)."""
        return IdempotentUseCase(self.effect, consumer, self.skipped)


def idempotent(consumer: str | None = None, *, skipped: Any = None
               ) -> Callable[[Callable[Concatenate[Any, P], R]], IdempotentUseCase[P, R]]:
    """An event use case ``effect(uow, *args)`` that runs inside an open unit of work and does not commit.

    The decorated use case is called ``use_case(event, uow, *args)``: it opens the unit of work, claims
    the event in the inbox as ``consumer`` (``event`` is an ``Envelope``, or a ``Delivery`` naming its
    own consumer), runs the effect and commits both together. A redelivery returns ``skipped`` and
    changes nothing; an effect that raises rolls the claim back with everything else, so the retry
    runs it again.
    """
    def wrap(effect: Callable[Concatenate[Any, P], R]) -> IdempotentUseCase[P, R]:
        return IdempotentUseCase(effect, consumer, skipped)

    return wrap
