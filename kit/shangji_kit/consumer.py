"""Consuming events in nameko workers: bounded, jittered retries and a dead-letter queue.

``@event_handler(source, type)`` is nameko's handler (same queue names, same bindings, so any
nameko service can subscribe the same way) with one change: a handler that raises is not
requeued hot. The message goes to ``<queue>.retry`` with a per-message TTL (exponential with full
jitter), whose dead-letter route leads back to ``<queue>``; after ``max_attempts`` deliveries it goes
to ``<queue>.dlq`` with the error in its headers. The original is acked only after the broker
confirmed the copy, so nothing is lost between the two.
"""

from __future__ import annotations

import contextlib
import random
import traceback
from collections.abc import Iterator

import kombu
from nameko.events import EventHandler

from shangji_kit import log
from shangji_kit.envelope import Envelope

_log = log.get(__name__)

ATTEMPT_HEADER = "x-shangji-attempt"
ERROR_HEADER = "x-shangji-error"
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_BASE_MS = 200
MAX_RETRY_DELAY_MS = 60_000


def retry_queue_name(queue: str) -> str:
    return f"{queue}.retry"


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}.dlq"


def handler_queue_name(source_service: str, event_type: str, service: str, method: str) -> str:
    """nameko's SERVICE_POOL queue name, so topology in deploy/ can name it before workers start."""
    return f"evt-{source_service}-{event_type}--{service}.{method}"


def declare_side_queues(channel, queue: str) -> None:
    channel.queue_declare(queue=retry_queue_name(queue), durable=True, auto_delete=False, arguments={
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": queue,
    })
    channel.queue_declare(queue=dead_letter_queue_name(queue), durable=True, auto_delete=False)


def retry_delay_ms(attempt: int, base_ms: int) -> int:
    """Full jitter (AWS architecture blog): uniform in [base, base * 2^(attempt-1)], capped."""
    ceiling = min(MAX_RETRY_DELAY_MS, base_ms * 2 ** max(0, attempt - 1))
    return int(random.uniform(base_ms, max(base_ms, ceiling)))


class RetryingEventHandler(EventHandler):
    def __init__(self, source_service: str, event_type: str, **kwargs) -> None:
        super().__init__(source_service, event_type, requeue_on_error=False, **kwargs)

    def setup(self) -> None:
        super().setup()
        config = self.container.config
        self.max_attempts = int(config.get("SHANGJI_CONSUMER_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
        self.retry_base_ms = int(config.get("SHANGJI_CONSUMER_RETRY_BASE_MS", DEFAULT_RETRY_BASE_MS))
        self._conn = kombu.Connection(config["AMQP_URI"], transport_options={"confirm_publish": True})
        with self._conn.channel() as channel:
            declare_side_queues(channel, self.queue.name)

    def stop(self) -> None:
        super().stop()
        self._conn.release()

    def _republish(self, message, routing_key: str, headers: dict, expiration_ms: int | None) -> None:
        properties = {"delivery_mode": 2}
        if expiration_ms is not None:
            properties["expiration"] = str(expiration_ms)
        producer = kombu.Producer(self._conn.default_channel)
        self._conn.ensure(producer, producer.publish, max_retries=3)(
            message.body,
            exchange="",
            routing_key=routing_key,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            headers=headers,
            **properties,
        )

    def handle_message_processed(self, message, result=None, exc_info=None) -> None:
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        headers = dict(message.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER, 1))
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()[:2000]
        try:
            if attempt < self.max_attempts:
                headers[ATTEMPT_HEADER] = attempt + 1
                delay = retry_delay_ms(attempt, self.retry_base_ms)
                self._republish(message, retry_queue_name(self.queue.name), headers, delay)
                _log.warning("event handler failed; will retry", extra=log.fields(
                    queue=self.queue.name, attempt=attempt, retry_in_ms=delay, error=error))
            else:
                headers[ERROR_HEADER] = error
                self._republish(message, dead_letter_queue_name(self.queue.name), headers, None)
                _log.error("event dead-lettered", extra=log.fields(queue=self.queue.name, attempt=attempt,
                                                                   error=error))
        except Exception:  # broker trouble: give the message back rather than lose it
            _log.exception("could not park a failed event; requeueing it")
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)


event_handler = RetryingEventHandler.decorator


@contextlib.contextmanager
def event_context(body: object) -> Iterator[Envelope]:
    """Parse the envelope and log under its correlation id while the handler runs."""
    env = Envelope.parse(body)
    token = log.correlation_id.set(env.correlation_id or env.id)
    try:
        yield env
    finally:
        log.correlation_id.reset(token)
