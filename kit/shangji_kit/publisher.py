"""Publishing CloudEvents to a service's topic exchange with confirms and mandatory routing."""

from __future__ import annotations

import kombu

from shangji_kit import envelope, log

_log = log.get(__name__)


class EventPublisher:
    """One broker connection; ``publish`` returns only after the broker confirmed the message."""

    def __init__(self, amqp_uri: str, service: str) -> None:
        self.amqp_uri = amqp_uri
        self.service = service
        self.exchange = kombu.Exchange(envelope.exchange_of(service), type="topic", durable=True)
        self.unroutable: list[str] = []
        self._conn: kombu.Connection | None = None
        self._producer: kombu.Producer | None = None

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        # mandatory=True: the broker hands back an event no queue is bound for. It was still
        # confirmed; we keep the fact visible rather than resend into the void.
        msg_id = message.properties.get("message_id") if hasattr(message, "properties") else None
        self.unroutable.append(str(msg_id))
        _log.warning("event unroutable: no queue bound", extra=log.fields(exchange=exchange, routing_key=routing_key,
                                                                          event_id=msg_id))

    def _ensure(self) -> kombu.Producer:
        if self._producer is None:
            self._conn = kombu.Connection(self.amqp_uri, transport_options={"confirm_publish": True},
                                          connect_timeout=5)
            self._conn.ensure_connection(max_retries=1)
            channel = self._conn.channel()
            self._producer = kombu.Producer(channel, exchange=self.exchange, on_return=self._on_return)
            self.exchange(channel).declare()
        return self._producer

    def publish(self, env: dict) -> None:
        producer = self._ensure()
        producer.publish(
            env,
            routing_key=env["type"],
            serializer="json",
            delivery_mode=2,
            mandatory=True,
            message_id=env["id"],
            headers=envelope.amqp_headers(env),
            retry=False,
        )

    def close(self) -> None:
        try:
            if self._conn is not None:
                self._conn.release()
        except Exception:  # closing a broken connection may raise; it is discarded either way
            pass
        self._conn = None
        self._producer = None
