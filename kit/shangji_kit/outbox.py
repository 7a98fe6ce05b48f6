"""Transactional outbox: events are rows written in the business transaction.

The relay (``shangji_kit.relay``) publishes them after commit. A statement trigger on the table
(created with it, ``shangji_kit.migrate``) sends ``NOTIFY outbox`` inside the same transaction, so
PostgreSQL delivers the wake-up only when the rows are visible, at no extra round trip.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from google.protobuf import json_format
from google.protobuf.message import Message
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.dialects import postgresql as pg

from shangji_kit import log, plans, tracing


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("position", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("dataschema", sa.Text, nullable=False),
        sa.Column("data", pg.JSONB, nullable=False),
        sa.Column("correlation_id", sa.Text),
        # W3C trace context of the transaction that wrote the row, so the published CloudEvent continues
        # that trace (NULL when tracing is off).
        sa.Column("traceparent", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Index("outbox_unsent", "position", postgresql_where=sa.text("sent_at IS NULL")),
    )


# NOTIFY channels are per database, and each service has its own database.
NOTIFY_CHANNEL = "outbox"


@dataclass
class OutboxEvent:
    """One event about to be written: a proto message and the resource it is about."""

    message: Message
    subject: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@functools.cache
def _insert(table: sa.Table) -> sa.Insert:
    # Built once per process; a call's one or two events, whose plan PostgreSQL may keep (``plans``).
    return plans.generic(sa.insert(table))


class Outbox:
    """Collects a unit of work's events and writes them in its transaction.

    ``encoder`` (given at bootstrap, from the service's outbound adapter) turns a domain event into the
    proto message and subject to publish, so the service layer hands over domain events and imports no
    adapter.
    """

    def __init__(self, table: sa.Table, service: str,
                 encoder: Callable[[Any], tuple[Message, str]] | None = None) -> None:
        self.table = table
        self.service = service
        self.encoder = encoder
        self.pending: list[OutboxEvent] = []

    def add(self, message: Message, subject: str) -> OutboxEvent:
        event = OutboxEvent(message=message, subject=subject)
        self.pending.append(event)
        return event

    def add_event(self, event: object) -> OutboxEvent:
        """A domain event, encoded by the encoder given at bootstrap."""
        if self.encoder is None:
            raise TypeError(f"{self.service}'s outbox has no event encoder; pass one to its unit of work")
        return self.add(*self.encoder(event))

    def copy_encoded(self, session: sa.Connection, rows: Iterable[tuple[str, str, str]]) -> None:
        """Many events already encoded as (type, subject, proto3 JSON text), written now by COPY in this
        transaction, with the columns ``flush`` writes (an import's tens of thousands of events: building
        and inserting them one message at a time was half of the import's time)."""
        cid, parent = log.correlation_id.get(), tracing.traceparent()
        now = datetime.now(timezone.utc)
        raw = session.connection.driver_connection
        copy_sql = (f"COPY {self.table.name} (id, type, subject, dataschema, data, correlation_id, traceparent, "
                    "created_at) FROM STDIN")
        with raw.cursor() as cur, cur.copy(copy_sql, writer=QueuedLibpqWriter(cur)) as copy:
            for event_type, subject, data in rows:
                copy.write_row((str(uuid.uuid4()), event_type, subject, f"proto:{event_type}", data, cid, parent,
                                now))

    def insert_selected(self, session: sa.Connection, select_sql: str, params: dict[str, Any] | None = None) -> int:
        """Events a query makes, written by one ``INSERT ... SELECT`` in this transaction with the columns
        ``flush`` writes (a set-based import's events come from its staged rows: no row crosses to Python).

        ``select_sql`` yields ``type`` (the full proto name), ``subject``, ``data`` (the proto3 JSON as jsonb) and
        ``ord`` (the order the rows take in the outbox, which is the relay's publishing order). Each row gets a
        new UUID id (v4, as ``OutboxEvent``), ``dataschema`` ``proto:<type>``, this context's correlation id and
        traceparent, and one ``created_at``: the same envelope as the rows ``copy_encoded`` writes."""
        values = {"_outbox_cid": log.correlation_id.get(), "_outbox_traceparent": tracing.traceparent(),
                  "_outbox_now": datetime.now(timezone.utc), **(params or {})}
        stmt = sa.text(
            f"INSERT INTO {self.table.name} (id, type, subject, dataschema, data, correlation_id, traceparent, "
            "created_at) SELECT gen_random_uuid(), e.type, e.subject, 'proto:' || e.type, e.data, "
            "CAST(:_outbox_cid AS text), CAST(:_outbox_traceparent AS text), :_outbox_now "
            f"FROM ({select_sql}) AS e ORDER BY e.ord")
        return session.execute(stmt, values).rowcount

    def flush(self, session: sa.Connection) -> int:
        if not self.pending:
            return 0
        cid, parent = log.correlation_id.get(), tracing.traceparent()
        rows = [
            {
                "id": e.id,
                "type": e.message.DESCRIPTOR.full_name,
                "subject": e.subject,
                "dataschema": f"proto:{e.message.DESCRIPTOR.full_name}",
                "data": json_format.MessageToDict(e.message, preserving_proto_field_name=False),
                "correlation_id": cid,
                "traceparent": parent,
                "created_at": e.time,
            }
            for e in self.pending
        ]
        session.execute(_insert(self.table), rows)
        count = len(self.pending)
        self.pending.clear()
        return count
