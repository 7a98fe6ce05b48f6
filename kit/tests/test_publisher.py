"""Batched publishing: one confirm wait per batch, unroutable events counted, a refused batch left unsent."""

import logging
import uuid
from datetime import datetime, timezone

import kombu
import pytest
import sqlalchemy as sa

from shangji.teams.v1 import events_pb2, teams_pb2
from shangji_kit import envelope
from shangji_kit.publisher import EventPublisher, PublishNotConfirmed
from shangji_kit.relay import OutboxRelay
from shangji_kit.settings import Settings
from shangji_kit.uow import UnitOfWork
from teams.adapters.orm import metadata

SERVICE = "teams"


@pytest.fixture
def settings(private_teams_settings) -> Settings:
    return private_teams_settings


def envelopes(n: int, type_: str) -> list[dict]:
    return [envelope.build(service=SERVICE, id=str(uuid.uuid4()), type=type_, subject=f"users/{i}",
                           time=datetime.now(timezone.utc), dataschema=f"proto:{type_}", data={"n": i},
                           correlation_id=None) for i in range(n)]


def test_a_batch_reaches_a_bound_queue_in_order(settings):
    exchange = kombu.Exchange(envelope.exchange_of(SERVICE), type="topic", durable=True)
    with kombu.Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        queue = kombu.Queue(f"test-{uuid.uuid4().hex}", exchange=exchange, routing_key="test.batch.#",
                            exclusive=True)
        queue(channel).declare()
        publisher = EventPublisher(settings.amqp_uri, SERVICE)
        sent = envelopes(120, "test.batch.Made")
        publisher.publish_batch(sent)
        publisher.publish_batch(envelopes(3, "test.batch.Made"))  # the channel's tags keep counting right
        publisher.close()
        got = []
        while (msg := queue(channel).get(no_ack=True)) is not None:
            got.append(msg.decode())
    assert [g["id"] for g in got[:120]] == [e["id"] for e in sent]
    assert len(got) == 123


def test_unroutable_events_are_counted_with_one_sampled_line_not_a_warning_each(settings, caplog):
    publisher = EventPublisher(settings.amqp_uri, SERVICE)
    with caplog.at_level(logging.INFO, logger="shangji_kit.publisher"):
        publisher.publish_batch(envelopes(50, f"test.nobody.{uuid.uuid4().hex}"))
        publisher.publish_batch(envelopes(25, f"test.nobody.{uuid.uuid4().hex}"))
    publisher.close()
    assert publisher.unroutable.total == 75
    lines = [r for r in caplog.records if r.name == "shangji_kit.publisher"]
    assert len(lines) == 1 and lines[0].levelno < logging.WARNING


def write_events(settings, n: int) -> None:
    engine = sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool)
    with UnitOfWork(SERVICE, engine.connect, metadata) as uow:
        for i in range(n):
            uow.outbox.add(events_pb2.UserCreated(user=teams_pb2.User(display_name=f"r{i}")), subject=f"users/r{i}")
        uow.commit()
    engine.dispose()


def unsent(settings) -> int:
    engine = sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar_one()
    engine.dispose()
    return count


def test_a_batch_the_broker_refuses_stays_unsent_and_goes_out_on_the_next_round(settings):
    write_events(settings, 5)
    relay = OutboxRelay(SERVICE, settings.database_url, settings.amqp_uri)
    exchange = kombu.Exchange(envelope.exchange_of(SERVICE), type="topic", durable=True)
    with kombu.Connection(settings.amqp_uri) as conn:
        # A full queue that refuses new messages: the broker nacks every event routed to it.
        full = kombu.Queue(f"test-full-{uuid.uuid4().hex}", exchange=exchange, routing_key="shangji.teams.v1.#",
                           exclusive=True, queue_arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
        full(conn.channel()).declare()
        with pytest.raises(PublishNotConfirmed):
            relay.publish_pending()
        assert unsent(settings) == 5
        full(conn.channel()).delete()
    assert relay.publish_pending() == 5
    relay.close()
    assert unsent(settings) == 0


def test_an_event_written_inside_a_trace_is_published_in_that_trace(settings):
    """The outbox row keeps the writer's traceparent and the relay puts it on the CloudEvent, so a
    consumer's span continues the request that caused the event (CloudEvents distributed tracing)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from shangji_kit import db

    exchange = kombu.Exchange(envelope.exchange_of(SERVICE), type="topic", durable=True)
    tracer = TracerProvider().get_tracer("test")
    user = teams_pb2.User(name=f"users/{uuid.uuid4()}", display_name="追踪")
    with kombu.Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        queue = kombu.Queue(f"test-trace-{uuid.uuid4().hex}", exchange=exchange,
                            routing_key="shangji.teams.v1.UserCreated", exclusive=True)
        queue(channel).declare()
        with tracer.start_as_current_span("CreateUser") as span:
            uow = UnitOfWork(SERVICE, db.connection_factory(settings.database_url), metadata)
            with uow:
                uow.outbox.add(events_pb2.UserCreated(user=user), user.name)
                uow.commit()
            trace_id = format(span.get_span_context().trace_id, "032x")
        untraced = UnitOfWork(SERVICE, db.connection_factory(settings.database_url), metadata)
        with untraced:
            untraced.outbox.add(events_pb2.UserCreated(user=user), user.name)
            untraced.commit()
        relay = OutboxRelay(SERVICE, settings.database_url, settings.amqp_uri)
        try:
            while relay.publish_pending():
                pass
        finally:
            relay.close()
        got = []
        while (msg := queue(channel).get(no_ack=True)) is not None:
            got.append(msg.decode())
    assert trace.get_current_span().get_span_context().is_valid is False  # the test left no span behind
    assert [g.get("traceparent", "").split("-")[1:2] for g in got] == [[trace_id], []]
