"""CloudEvents 1.0 envelopes around proto3-JSON payloads, in the AMQP binding's structured mode.

The message body is the whole event in the CloudEvents JSON format and its content type is
``application/cloudevents+json``, which is how a CloudEvents SDK recognises structured mode (with
``application/json`` it would take the envelope for the data). kombu gets a serializer for that
content type (registered below, named ``cloudevents``), so a nameko ``@event_handler`` still
receives the envelope as a dict; workers list it in nameko's ``ACCEPT``. The attributes are also
copied into ``cloudEvents:*`` application properties (headers), which the binding allows in
structured mode, for routers that look only at headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

import kombu.serialization
from google.protobuf import json_format
from google.protobuf.message import Message

from shangji_kit.errors import InvalidArgument

M = TypeVar("M", bound=Message)

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
SERIALIZER = "cloudevents"


def dumps(event: dict) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def loads(body: str | bytes) -> dict:
    return json.loads(body)


kombu.serialization.register(SERIALIZER, dumps, loads, content_type=CONTENT_TYPE, content_encoding="utf-8")


def source_of(service: str) -> str:
    return f"/shangji/{service}"


def exchange_of(service: str) -> str:
    return f"{service}.events"


def build(*, service: str, id: str, type: str, subject: str, time: datetime, dataschema: str,
          data: dict, correlation_id: str | None, traceparent: str | None = None) -> dict:
    env = {
        "specversion": SPECVERSION,
        "id": id,
        "source": source_of(service),
        "type": type,
        "subject": subject,
        "time": time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "dataschema": dataschema,
        "data": data,
    }
    if correlation_id:
        env["correlationid"] = correlation_id
    if traceparent:  # CloudEvents distributed tracing extension
        env["traceparent"] = traceparent
    return env


def amqp_headers(env: dict) -> dict:
    return {f"cloudEvents:{k}": v for k, v in env.items() if k != "data"}


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: str
    subject: str
    time: str
    data: dict
    correlation_id: str | None
    traceparent: str | None = None

    @classmethod
    def parse(cls, body: object) -> Envelope:
        if not isinstance(body, dict):
            raise InvalidArgument.field("envelope", "event body is not a JSON object")
        missing = [k for k in ("specversion", "id", "source", "type") if not body.get(k)]
        if missing:
            raise InvalidArgument.field("envelope", f"missing CloudEvents attributes: {', '.join(missing)}")
        return cls(id=str(body["id"]), source=body["source"], type=body["type"], subject=body.get("subject", ""),
                   time=body.get("time", ""), data=body.get("data") or {}, correlation_id=body.get("correlationid"),
                   traceparent=body.get("traceparent"))

    def payload(self, message_type: type[M]) -> M:
        """The data as a proto message; unknown fields are ignored so producers may add fields."""
        if self.type != message_type.DESCRIPTOR.full_name:
            raise InvalidArgument.field("type", f"expected {message_type.DESCRIPTOR.full_name}, got {self.type}")
        try:
            return json_format.ParseDict(self.data, message_type(), ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise InvalidArgument.field("data", str(exc)) from exc
