"""docs/events/asyncapi.yaml, the AsyncAPI 3 contract of every event, generated from protos/ and
deploy/rabbitmq/topology.yaml: `python -m scripts.asyncapi` writes it, `--check` fails when the
committed file is not what the sources give (tests/platform/test_event_contracts.py runs both the
check and the AsyncAPI parser's validation).

An event type is a top-level message of a `shangji/<service>/v1/events.proto`, published on the
topic exchange `<service>.events` with its full name as routing key, as a structured-mode CloudEvent.
"""

from __future__ import annotations

import sys

import yaml

from scripts import descriptors, generated_file
from scripts.build_protos import ROOT
from scripts.proto_schema import SchemaSet

OUT = ROOT / "docs" / "events" / "asyncapi.yaml"
TOPOLOGY = ROOT / "deploy" / "rabbitmq" / "topology.yaml"
AMQP = "0.3.0"  # AsyncAPI AMQP bindings version
CONTENT_TYPE = "application/cloudevents+json"  # shangji_kit.envelope.CONTENT_TYPE, without importing the kit


def event_types(idx: descriptors.Index) -> list[tuple[str, str]]:
    """(service, full name) of every event, in file order."""
    found = []
    for name, f in sorted(idx.files.items()):
        parts = name.split("/")
        if len(parts) == 4 and parts[0] == "shangji" and parts[3] == "events.proto":
            found += [(parts[1], f"{f.package}.{m.name}") for m in f.message_type]
    return found


def cloud_event_schema() -> dict:
    return {
        "type": "object",
        "description": "A CloudEvent 1.0 in the JSON format (structured mode of the AMQP binding).",
        "required": ["specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "data"],
        "properties": {
            "specversion": {"type": "string", "const": "1.0"},
            "id": {"type": "string", "format": "uuid",
                   "description": "Unique per event (the producer's outbox row id): deduplicate on it."},
            "source": {"type": "string", "description": "/shangji/<service>"},
            "type": {"type": "string", "description": "Full name of the proto message; also the routing key."},
            "subject": {"type": "string", "description": "Resource name the event is about, e.g. leads/{id}."},
            "time": {"type": "string", "format": "date-time", "description": "When the change committed (UTC)."},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "dataschema": {"type": "string", "description": "proto:<full name of the message in data>"},
            "correlationid": {"type": "string", "description": "Id of the request that caused the event."},
            "traceparent": {"type": "string", "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                            "description": "W3C trace context of the change (CloudEvents distributed tracing "
                                           "extension); continue the trace from it."},
            "data": {"type": "object", "description": "The event message in proto3 JSON."},
        },
    }


def headers_schema() -> dict:
    names = ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema"]
    return {"type": "object", "description": "The attributes again as AMQP headers, for header-based routing.",
            "properties": {f"cloudEvents:{n}": {"type": "string"} for n in names}}


def document() -> dict:
    idx = descriptors.index(descriptors.load(descriptors.build()))
    topology = yaml.safe_load(TOPOLOGY.read_text(encoding="utf-8"))
    schemas = SchemaSet(idx, "#/components/schemas/")
    channels: dict = {}
    operations: dict = {}
    messages: dict = {}
    events = event_types(idx)
    for service, full in events:
        schemas.add(full)
        messages[full] = {
            "name": full.rsplit(".", 1)[1],
            "title": full,
            "summary": idx.comments.get((full,), full).splitlines()[0],
            "contentType": CONTENT_TYPE,
            "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
            "payload": {"allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {"type": "object", "properties": {
                    "type": {"const": full}, "source": {"const": f"/shangji/{service}"},
                    "dataschema": {"const": f"proto:{full}"}, "data": {"$ref": f"#/components/schemas/{full}"}}},
            ]},
            "bindings": {"amqp": {"contentEncoding": "utf-8", "messageType": full, "bindingVersion": AMQP}},
        }
        channels[full] = {
            "address": full,
            "title": f"{full} on {service}.events",
            "messages": {full.rsplit(".", 1)[1]: {"$ref": f"#/components/messages/{full}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": {
                "name": f"{service}.events", "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
                "bindingVersion": AMQP}},
        }
        operations[f"publish.{full}"] = {
            "action": "send",
            "title": f"{service} publishes {full.rsplit('.', 1)[1]}",
            "description": "Published from the transactional outbox with publisher confirms, at least once.",
            "channel": {"$ref": f"#/channels/{full}"},
            "bindings": {"amqp": {"deliveryMode": 2, "mandatory": True, "bindingVersion": AMQP}},
        }
    for sub in topology.get("subscriptions", []):
        full = sub["event_type"]
        queue = f"evt-{sub['source']}-{full}--{sub['service']}.{sub['method']}"
        operations[f"{sub['service']}.{sub['method']}"] = {
            "action": "receive",
            "title": f"{sub['service']} consumes {full.rsplit('.', 1)[1]}",
            "description": f"Queue `{queue}` (retries in `{queue}.retry`, dead letters in `{queue}.dlq`).",
            "channel": {"$ref": f"#/channels/{full}"},
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP}},
        }
    for ext in topology.get("external") or []:
        channels[ext["queue"]] = {
            "address": ext["queue"], "title": f"external subscriber queue {ext['queue']}",
            "messages": {b["event_type"].rsplit(".", 1)[1]: {"$ref": f"#/components/messages/{b['event_type']}"}
                         for b in ext["bindings"]},
            "bindings": {"amqp": {"is": "queue", "queue": {"name": ext["queue"], "durable": True, "exclusive": False,
                                                           "autoDelete": False, "vhost": "/"},
                                  "bindingVersion": AMQP}},
        }
        operations[f"external.{ext['queue']}"] = {"action": "receive",
                                                  "channel": {"$ref": f"#/channels/{ext['queue']}"}}
    replay = topology.get("replay")
    if replay:
        channels["replay"] = {
            "address": replay["queue"],
            "title": "Every event, kept for re-reading (a RabbitMQ stream)",
            "description": (f"A stream queue bound to every exchange with `#`, keeping events for {replay['max_age']}. "
                            "Consume it with a prefetch and the `x-stream-offset` argument (`first`, an offset "
                            "or a timestamp) to re-read from a point in time; reading takes nothing away."),
            "messages": {full.rsplit(".", 1)[1] + "_" + service: {"$ref": f"#/components/messages/{full}"}
                         for service, full in events},
            "bindings": {"amqp": {"is": "queue", "queue": {"name": replay["queue"], "durable": True,
                                                           "exclusive": False, "autoDelete": False, "vhost": "/"},
                                  "bindingVersion": AMQP}},
        }
        operations["replay"] = {"action": "receive", "title": "Re-read events from a point in time",
                                "channel": {"$ref": "#/channels/replay"},
                                "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP}}}
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "Shangji events",
            "version": "1.0.0",
            "description": ("Every event the Shangji services publish, as CloudEvents 1.0 in structured mode "
                            f"(`{CONTENT_TYPE}`) on RabbitMQ topic exchanges. Generated from protos/ and "
                            "deploy/rabbitmq/topology.yaml by `python -m scripts.asyncapi`; do not edit. "
                            "How to subscribe: docs/events/subscribing.md."),
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {"rabbitmq": {"host": "rabbitmq:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
                                 "description": "The suite's broker (SHANGJI_AMQP_URI)."}},
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {"CloudEvent": cloud_event_schema(), "CloudEventHeaders": headers_schema(),
                        **dict(sorted(schemas.schemas.items()))},
            "messages": messages,
        },
    }


def render() -> str:
    return generated_file.as_yaml(
        "Generated by `python -m scripts.asyncapi` from protos/ and deploy/rabbitmq/topology.yaml.", document())


def main(argv: list[str] | None = None) -> int:
    return generated_file.main(OUT, render, "python -m scripts.asyncapi", argv)


if __name__ == "__main__":
    sys.exit(main())
