"""Deliveries in PostgreSQL: one row per (source event, recipient, channel)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from notify.adapters.orm import deliveries
from notify.domain.delivery import DEAD, PENDING, SENT, Delivery
from shangji_kit.statements import insert_or_skip

_COLUMNS = ("id", "source_event_id", "recipient", "channel", "notice_type", "subject", "facts", "locale", "digest",
            "state", "attempts", "next_attempt_time", "last_error", "sent_time", "endpoint_key", "create_time")
_INSERT = insert_or_skip(deliveries, _COLUMNS, returning="id",
                         conflict_columns=["source_event_id", "recipient", "channel"])
_MUTABLE = ("state", "attempts", "next_attempt_time", "last_error", "sent_time", "endpoint_key")


_SAVE = sa.update(deliveries).where(deliveries.c.id == sa.bindparam("key_id")).values(
    **{c: sa.bindparam(c) for c in _MUTABLE})


def _to_delivery(row) -> Delivery:
    return Delivery(**{c: getattr(row, c) for c in _COLUMNS})


class DeliveryRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, delivery: Delivery) -> bool:
        """False when this (event, recipient, channel) already has its delivery (nothing written)."""
        return self.session.execute(_INSERT, {c: getattr(delivery, c) for c in _COLUMNS}).first() is not None

    def claim_due(self, channel: str, now: datetime, limit: int, lease_until: datetime) -> list[Delivery]:
        """Due rows of ``channel``, oldest due first, locked (others skip them) and leased until ``lease_until``."""
        d = deliveries
        due = (sa.select(d.c.id).where(d.c.channel == channel, d.c.state == PENDING, d.c.next_attempt_time <= now)
               .order_by(d.c.next_attempt_time).limit(limit).with_for_update(skip_locked=True))
        rows = self.session.execute(
            sa.update(d).where(d.c.id.in_(due.scalar_subquery())).values(next_attempt_time=lease_until)
            .returning(*d.c)).all()
        return sorted((_to_delivery(r) for r in rows), key=lambda x: (x.create_time, x.id))

    def claim_digest(self, channel: str, recipient: str, now: datetime, lease_until: datetime) -> list[Delivery]:
        """Every other due digest row of ``recipient`` on ``channel``, claimed the same way: a digest is one
        message however many rows it gathers."""
        d = deliveries
        due = (sa.select(d.c.id).where(d.c.channel == channel, d.c.recipient == recipient, d.c.digest,
                                       d.c.state == PENDING, d.c.next_attempt_time <= now)
               .with_for_update(skip_locked=True))
        rows = self.session.execute(
            sa.update(d).where(d.c.id.in_(due.scalar_subquery())).values(next_attempt_time=lease_until)
            .returning(*d.c)).all()
        return sorted((_to_delivery(r) for r in rows), key=lambda x: (x.create_time, x.id))

    def save(self, delivery: Delivery) -> None:
        self.session.execute(sa.update(deliveries).where(deliveries.c.id == delivery.id)
                             .values(**{c: getattr(delivery, c) for c in _MUTABLE}))

    def save_all(self, recorded: list[Delivery]) -> None:
        """A round's outcomes in one executemany (one statement compiled, sent in a pipeline)."""
        if recorded:
            self.session.execute(_SAVE, [{"key_id": d.id, **{c: getattr(d, c) for c in _MUTABLE}} for d in recorded])

    def sent_times(self, endpoint_key: str, since: datetime) -> list[datetime]:
        d = deliveries
        stmt = (sa.select(d.c.sent_time).where(d.c.endpoint_key == endpoint_key, d.c.state == SENT,
                                               d.c.sent_time > since).order_by(d.c.sent_time))
        return list(self.session.execute(stmt).scalars())

    def get_for_update(self, delivery_id: str) -> Delivery | None:
        stmt = sa.select(deliveries).where(deliveries.c.id == delivery_id).with_for_update()
        row = self.session.execute(stmt).first()
        return _to_delivery(row) if row else None

    def list_dead(self, limit: int, after: tuple[datetime, str] | None, channel: str | None) -> list[Delivery]:
        d = deliveries
        stmt = sa.select(d).where(d.c.state == DEAD)
        if channel:
            stmt = stmt.where(d.c.channel == channel)
        if after is not None:
            time, last_id = after
            stmt = stmt.where(sa.or_(d.c.create_time < time, sa.and_(d.c.create_time == time, d.c.id > last_id)))
        stmt = stmt.order_by(d.c.create_time.desc(), d.c.id).limit(limit)
        return [_to_delivery(r) for r in self.session.execute(stmt)]
