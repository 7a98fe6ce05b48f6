"""Publishing CloudEvents to a service's topic exchange with confirms and mandatory routing.

A batch is published in one go and confirmed with one wait: the channel is in confirm mode, every
message gets the next delivery tag, and ``publish_batch`` returns only when the broker has acked
every tag of the batch (``basic.ack`` with ``multiple`` covers many at once). A nack, a missing
confirm within ``confirm_timeout`` or a lost connection raises, and the caller must treat the whole
batch as unsent (the relay rolls back and publishes it again: at-least-once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import kombu
from amqp import spec

from shangji_kit import envelope, log, metrics

_log = log.get(__name__)

# One log line per this many seconds about unroutable events, with the count since the last line.
UNROUTABLE_LOG_SECONDS = 60.0


class PublishNotConfirmed(Exception):
    """The broker nacked a message of the batch, or did not confirm it in time."""


class UnroutableCounter:
    """Events no queue was bound for: counted, and logged as one sampled line per interval.

    A topology that binds no queue for an event type is normal (nobody subscribes to LeadCreated
    today), so a WARNING per event would be noise: 42,615 lines in one benchmark run.
    """

    def __init__(self, interval: float = UNROUTABLE_LOG_SECONDS) -> None:
        self.interval = interval
        self.total = 0
        self.by_type: dict[str, int] = {}
        self._since_log = 0
        self._last_log = float("-inf")
        self._lock = threading.Lock()

    def add(self, exchange: str, routing_key: str, event_id: str | None) -> None:
        with self._lock:
            self.total += 1
            self.by_type[routing_key] = self.by_type.get(routing_key, 0) + 1
            self._since_log += 1
            now = time.monotonic()
            if now - self._last_log < self.interval:
                return
            count, self._since_log, self._last_log = self._since_log, 0, now
        _log.info("events unroutable: no queue bound (sampled)",
                  extra=log.fields(exchange=exchange, routing_key=routing_key, event_id=event_id,
                                   unroutable_since_last_line=count, unroutable_total=self.total))


class EventPublisher:
    """One broker connection in confirm mode; ``publish`` and ``publish_batch`` return after the confirms."""

    def __init__(self, amqp_uri: str, service: str, *, confirm_timeout: float = 10.0) -> None:
        self.amqp_uri = amqp_uri
        self.service = service
        self.confirm_timeout = confirm_timeout
        self.exchange = kombu.Exchange(envelope.exchange_of(service), type="topic", durable=True)
        self.unroutable = UnroutableCounter()
        self._conn: kombu.Connection | None = None
        self._channel = None
        self._producer: kombu.Producer | None = None
        self._next_tag = 1  # delivery tag the broker gives the next message on this channel
        self._unconfirmed: set[int] = set()
        self._nacked = False

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        # mandatory=True: the broker hands back an event no queue is bound for. It is still
        # confirmed; we count it rather than resend into the void.
        msg_id = message.properties.get("message_id") if hasattr(message, "properties") else None
        self.unroutable.add(exchange, routing_key, msg_id)

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked = True
        self._settle(delivery_tag, multiple)

    def _settle(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._unconfirmed = {t for t in self._unconfirmed if t > delivery_tag}
        else:
            self._unconfirmed.discard(delivery_tag)

    def _ensure(self) -> kombu.Producer:
        if self._producer is None:
            # No kombu confirm_publish: it waits for each message's confirm; we wait once per batch.
            self._conn = kombu.Connection(self.amqp_uri, connect_timeout=5)
            self._conn.ensure_connection(max_retries=1)
            channel = self._conn.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self._channel = channel
            self._next_tag = 1
            self._unconfirmed = set()
            self._producer = kombu.Producer(channel, exchange=self.exchange, on_return=self._on_return)
            self.exchange(channel).declare()
        return self._producer

    def publish(self, env: dict) -> None:
        self.publish_batch([env])

    def publish_batch(self, envs: Sequence[dict]) -> None:
        """Publish every envelope, then wait once until the broker confirmed them all."""
        if not envs:
            return
        producer = self._ensure()
        self._nacked = False
        for env in envs:
            producer.publish(
                env,
                routing_key=env["type"],
                serializer=envelope.SERIALIZER,
                delivery_mode=2,
                mandatory=True,
                message_id=env["id"],
                headers=envelope.amqp_headers(env),
                retry=False,
            )
            self._unconfirmed.add(self._next_tag)
            self._next_tag += 1
        self._wait_confirms()
        metrics.EVENTS_PUBLISHED.labels(self.service).inc(len(envs))

    def _wait_confirms(self) -> None:
        deadline = time.monotonic() + self.confirm_timeout
        try:
            while self._unconfirmed:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PublishNotConfirmed(f"{len(self._unconfirmed)} messages not confirmed in "
                                              f"{self.confirm_timeout} s")
                self._channel.wait([spec.Basic.Ack, spec.Basic.Nack], timeout=left)
        except Exception:
            # The channel's tags no longer match what we expect: start over on a fresh connection.
            self.close()
            raise
        if self._nacked:
            raise PublishNotConfirmed("the broker nacked a message of the batch")

    def close(self) -> None:
        try:
            if self._conn is not None:
                self._conn.release()
        except Exception:  # closing a broken connection may raise; it is discarded either way
            pass
        self._conn = None
        self._channel = None
        self._producer = None
