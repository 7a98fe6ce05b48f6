"""Broker topology from ``deploy/rabbitmq/topology.yaml``: exchanges and every subscriber's queues.

Declared before any worker starts, so an event published before its subscriber first runs is
kept. Queue names and arguments match what the nameko workers declare (``consumer.py``), so both
declarations agree and neither fails with PRECONDITION_FAILED.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import kombu
import yaml

from shangji_kit import envelope
from shangji_kit.consumer import (
    dead_letter_queue_name,
    declare_side_queues,
    handler_queue_name,
    retry_queue_name,
)


@dataclass(frozen=True)
class Subscription:
    source: str
    event_type: str
    service: str
    method: str

    @property
    def queue(self) -> str:
        return handler_queue_name(self.source, self.event_type, self.service, self.method)


@dataclass(frozen=True)
class Topology:
    exchanges: tuple[str, ...]
    subscriptions: tuple[Subscription, ...]


def load(path: str | Path) -> Topology:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    subs = tuple(Subscription(**s) for s in doc.get("subscriptions", []))
    return Topology(exchanges=tuple(doc["publishers"]), subscriptions=subs)


def apply(topology: Topology, amqp_uri: str) -> int:
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        for service in topology.exchanges:
            kombu.Exchange(envelope.exchange_of(service), type="topic", durable=True)(channel).declare()
        for sub in topology.subscriptions:
            exchange = kombu.Exchange(envelope.exchange_of(sub.source), type="topic", durable=True)
            kombu.Queue(sub.queue, exchange=exchange, routing_key=sub.event_type, durable=True,
                        auto_delete=False)(channel).declare()
            declare_side_queues(channel, sub.queue)
        channel.close()
    return len(topology.subscriptions)


def purge(topology: Topology, amqp_uri: str) -> None:
    """Empty every subscriber, retry and dead-letter queue (test sessions start from nothing)."""
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        for sub in topology.subscriptions:
            for name in (sub.queue, retry_queue_name(sub.queue), dead_letter_queue_name(sub.queue)):
                channel.queue_purge(name)
        channel.close()
