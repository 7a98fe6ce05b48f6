"""Idempotent inbox: a consumer records each event id in the transaction of its effect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from shangji_kit.statements import insert_or_skip


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


class Inbox:
    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self._insert = insert_or_skip(table, ["consumer", "event_id", "event_type", "received_at"],
                                      returning="event_id")

    def claim(self, session: sa.Connection, consumer: str, event_id: str, event_type: str) -> bool:
        """True the first time ``consumer`` sees ``event_id``; False for a redelivery.

        INSERT ... ON CONFLICT is race-free: of two concurrent deliveries one inserts, the other
        waits for it and then finds the row (no check-then-insert window).
        """
        params = {"consumer": consumer, "event_id": event_id, "event_type": event_type,
                  "received_at": datetime.now(timezone.utc)}
        return session.execute(self._insert, params).first() is not None
