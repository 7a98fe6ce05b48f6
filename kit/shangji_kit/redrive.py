"""Redrive: move a consumer's dead letters back to its queue (``admin redrive <queue>``).

Works for the suite's own consumers (``<queue>.dlq`` filled by ``consumer.py``) and for external
quorum queues (filled by RabbitMQ after the delivery limit). Each message is re-published to
``<queue>`` through the default exchange with publisher confirms, and only then acked on the
dead-letter queue: a crash in between leaves a copy in both, never in neither (consumers are
idempotent). The retry count starts again; the last error stays in ``x-shangji-redriven-error``.
"""

from __future__ import annotations

import kombu

from shangji_kit.consumer import ATTEMPT_HEADER, ERROR_HEADER, dead_letter_queue_name

REDRIVEN_ERROR_HEADER = "x-shangji-redriven-error"
# RabbitMQ's own dead-lettering records, which would make the copy look dead already.
_DROPPED_HEADERS = {ATTEMPT_HEADER, ERROR_HEADER, "x-death", "x-first-death-exchange", "x-first-death-queue",
                    "x-first-death-reason", "x-last-death-exchange", "x-last-death-queue",
                    "x-last-death-reason", "x-delivery-count"}


def redrive(amqp_uri: str, queue: str, *, limit: int | None = None) -> int:
    """Move up to ``limit`` messages (all by default) from ``<queue>.dlq`` to ``queue``; returns how many."""
    moved = 0
    with kombu.Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        channel.queue_declare(queue=queue, passive=True)  # a typo must not create a queue nobody reads
        source = kombu.Queue(dead_letter_queue_name(queue), no_declare=True)(channel)
        producer = kombu.Producer(conn.channel())
        while limit is None or moved < limit:
            message = source.get(no_ack=False)
            if message is None:
                break
            headers = {k: v for k, v in (message.headers or {}).items() if k not in _DROPPED_HEADERS}
            if (message.headers or {}).get(ERROR_HEADER):
                headers[REDRIVEN_ERROR_HEADER] = message.headers[ERROR_HEADER]
            properties = {k: message.properties[k] for k in ("message_id", "correlation_id", "timestamp", "type")
                          if message.properties.get(k) is not None}
            producer.publish(message.body, exchange="", routing_key=queue, content_type=message.content_type,
                             content_encoding=message.content_encoding, headers=headers, delivery_mode=2,
                             retry=False, **properties)
            message.ack()
            moved += 1
        channel.close()
    return moved
