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
import time
import traceback
from collections.abc import Iterator

import kombu
from nameko.events import EventHandler
from opentelemetry.trace import SpanKind

from shangji_kit import log, metrics, tracing
from shangji_kit.envelope import Envelope

_log = log.get(__name__)

ATTEMPT_HEADER = "x-shangji-attempt"
ERROR_HEADER = "x-shangji-error"
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_BASE_MS = 200
MAX_RETRY_DELAY_MS = 60_000
PARK_ATTEMPTS = 4
REQUEUE_PAUSE_SECONDS = 2.0


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
        self._amqp_uri = config["AMQP_URI"]
        self._conn: kombu.Connection | None = None
        with kombu.Connection(self._amqp_uri) as conn, conn.channel() as channel:
            declare_side_queues(channel, self.queue.name)

    def stop(self) -> None:
        super().stop()
        self._drop_connection()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:  # a dead connection may fail to close; it is discarded either way
                pass
        self._conn = None

    def _republish(self, message, routing_key: str, headers: dict, expiration_ms: int | None) -> None:
        """Publish a copy with confirms; a broken connection is replaced, a few times, with backoff."""
        properties = {"delivery_mode": 2}
        if expiration_ms is not None:
            properties["expiration"] = expiration_ms / 1000  # kombu takes seconds
        for attempt in range(PARK_ATTEMPTS):
            try:
                if self._conn is None:
                    self._conn = kombu.Connection(self._amqp_uri, transport_options={"confirm_publish": True},
                                                  connect_timeout=5)
                kombu.Producer(self._conn.default_channel).publish(
                    message.body,
                    exchange="",
                    routing_key=routing_key,
                    content_type=message.content_type,
                    content_encoding=message.content_encoding,
                    headers=headers,
                    retry=False,
                    **properties,
                )
                return
            except Exception:
                self._drop_connection()
                if attempt == PARK_ATTEMPTS - 1:
                    raise
                time.sleep(0.1 * 2 ** attempt)  # green sleep: the worker process is monkey-patched

    def handle_message_processed(self, message, result=None, exc_info=None) -> None:
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            metrics.EVENTS_HANDLED.labels(self.queue.name, "ok").inc()
            return
        headers = dict(message.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER, 1))
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()[:2000]
        try:
            if attempt < self.max_attempts:
                headers[ATTEMPT_HEADER] = attempt + 1
                delay = retry_delay_ms(attempt, self.retry_base_ms)
                self._republish(message, retry_queue_name(self.queue.name), headers, delay)
                metrics.EVENTS_HANDLED.labels(self.queue.name, "retry").inc()
                _log.warning("event handler failed; will retry", extra=log.fields(
                    queue=self.queue.name, attempt=attempt, retry_in_ms=delay, error=error))
            else:
                headers[ERROR_HEADER] = error
                self._republish(message, dead_letter_queue_name(self.queue.name), headers, None)
                metrics.EVENTS_HANDLED.labels(self.queue.name, "dead_letter").inc()
                _log.error("event dead-lettered", extra=log.fields(queue=self.queue.name, attempt=attempt,
                                                                   error=error))
        except Exception:  # broker trouble: give the message back rather than lose it, but not hot
            _log.exception("could not park a failed event; requeueing it")
            time.sleep(REQUEUE_PAUSE_SECONDS)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)


event_handler = RetryingEventHandler.decorator


@contextlib.contextmanager
def event_context(body: object) -> Iterator[Envelope]:
    """Parse the envelope; while the handler runs, log under its correlation id, in a consumer span that
    continues the producer's trace when the event carries a ``traceparent``."""
    env = Envelope.parse(body)
    token = log.correlation_id.set(env.correlation_id or env.id)
    try:
        with tracing.span(f"handle {env.type}", kind=SpanKind.CONSUMER,
                          parent={"traceparent": env.traceparent} if env.traceparent else None,
                          attributes={"messaging.system": "rabbitmq", "messaging.message.id": env.id,
                                      "cloudevents.event_type": env.type, "cloudevents.event_source": env.source}):
            yield env
    finally:
        log.correlation_id.reset(token)
