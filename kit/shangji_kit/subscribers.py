"""Queues for subscribers outside the suite, and the replay stream, from ``deploy/rabbitmq/topology.yaml``.

``topology.py`` declares what the suite's own workers consume (nameko declares the same queues, so
their arguments must match nameko's). The queues here belong to outsiders, so we choose their kind:
- ``external``: one **quorum** queue per outside subscriber (replicated, survives a node loss),
  bound to the event types it asked for. After ``delivery_limit`` failed deliveries RabbitMQ
  dead-letters a message to ``<queue>.dlq``; ``admin redrive <queue>`` puts it back.
- ``replay``: one **stream** queue bound to every service's exchange with ``#``, keeping every event
  for ``max_age``. A subscriber re-reads from a point in time by consuming it with the
  ``x-stream-offset`` argument (a timestamp), without taking the events from anyone else.
Declared by ``admin topology`` with the rest, before the first publish, so nothing is lost while an
outsider is not yet connected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import kombu
import yaml

from shangji_kit import envelope
from shangji_kit.consumer import dead_letter_queue_name

DEFAULT_DELIVERY_LIMIT = 10


@dataclass(frozen=True)
class Binding:
    source: str
    event_type: str


@dataclass(frozen=True)
class ExternalQueue:
    queue: str
    bindings: tuple[Binding, ...]
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT


@dataclass(frozen=True)
class ReplayStream:
    queue: str
    max_age: str
    max_bytes: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Outsiders:
    external: tuple[ExternalQueue, ...]
    replay: ReplayStream | None


def load(path: str | Path) -> Outsiders:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    external = tuple(
        ExternalQueue(queue=e["queue"], bindings=tuple(Binding(**b) for b in e["bindings"]),
                      delivery_limit=int(e.get("delivery_limit", DEFAULT_DELIVERY_LIMIT)))
        for e in doc.get("external") or [])
    replay = None
    if doc.get("replay"):
        replay = ReplayStream(queue=doc["replay"]["queue"], max_age=str(doc["replay"]["max_age"]),
                              max_bytes=int(doc["replay"]["max_bytes"]), sources=tuple(doc["publishers"]))
    return Outsiders(external=external, replay=replay)


def external_queue_arguments(q: ExternalQueue) -> dict:
    return {"x-queue-type": "quorum", "x-delivery-limit": q.delivery_limit,
            "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_letter_queue_name(q.queue)}


def apply(outsiders: Outsiders, amqp_uri: str) -> int:
    """Declare every external queue (with its dead-letter queue) and the replay stream; returns how many."""
    declared = 0
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        for q in outsiders.external:
            channel.queue_declare(queue=dead_letter_queue_name(q.queue), durable=True, auto_delete=False,
                                  arguments={"x-queue-type": "quorum"})
            channel.queue_declare(queue=q.queue, durable=True, auto_delete=False,
                                  arguments=external_queue_arguments(q))
            for b in q.bindings:
                exchange = envelope.exchange_of(b.source)
                channel.exchange_declare(exchange=exchange, type="topic", durable=True, auto_delete=False)
                channel.queue_bind(queue=q.queue, exchange=exchange, routing_key=b.event_type)
            declared += 1
        if outsiders.replay is not None:
            r = outsiders.replay
            channel.queue_declare(queue=r.queue, durable=True, auto_delete=False,
                                  arguments={"x-queue-type": "stream", "x-max-age": r.max_age,
                                             "x-max-length-bytes": r.max_bytes})
            for source in r.sources:
                exchange = envelope.exchange_of(source)
                channel.exchange_declare(exchange=exchange, type="topic", durable=True, auto_delete=False)
                channel.queue_bind(queue=r.queue, exchange=exchange, routing_key="#")
            declared += 1
        channel.close()
    return declared
