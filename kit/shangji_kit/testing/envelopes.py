"""Test builders of CloudEvents envelopes around a proto message, as a service's relay publishes them.

``published`` is the body a consumer's handler receives; ``parsed`` is the same as the ``Envelope``
an inbound mapping reads. One builder, so every test's events carry the type, dataschema and
proto3-JSON payload the relay writes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf import json_format
from google.protobuf.message import Message

from shangji_kit import envelope
from shangji_kit.envelope import Envelope


def published(service: str, message: Message, *, subject: str = "", event_id: str | None = None,
              time: datetime | None = None) -> dict:
    """``message`` from ``service`` as a relay publishes it (a fresh id and the current time unless given)."""
    full_name = message.DESCRIPTOR.full_name
    return envelope.build(service=service, id=event_id or str(uuid.uuid4()), type=full_name, subject=subject,
                          time=time or datetime.now(UTC), dataschema=f"proto:{full_name}",
                          data=json_format.MessageToDict(message), correlation_id=None)


def parsed(service: str, message: Message, *, subject: str = "", event_id: str | None = None,
           time: datetime | None = None) -> Envelope:
    """``published`` read back as the ``Envelope`` a handler works with."""
    return Envelope.parse(published(service, message, subject=subject, event_id=event_id, time=time))
