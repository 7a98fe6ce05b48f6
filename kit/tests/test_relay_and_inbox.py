"""The outbox relay against real PostgreSQL and RabbitMQ; the inbox's idempotency."""

import threading
import uuid

import kombu
import pytest
import sqlalchemy as sa

from shangji.teams.v1 import events_pb2, teams_pb2
from shangji_kit import envelope
from shangji_kit.relay import OutboxRelay
from shangji_kit.settings import Settings
from shangji_kit.uow import UnitOfWork
from teams.adapters.orm import metadata

SERVICE = "teams"


@pytest.fixture
def settings(private_teams_settings) -> Settings:
    return private_teams_settings


@pytest.fixture
def uow_factory(settings):
    engine = sa.create_engine(settings.database_url)
    sessions = engine.connect
    yield lambda: UnitOfWork(SERVICE, sessions, metadata)
    engine.dispose()


@pytest.fixture
def listener(settings):
    """A private queue bound to every event type of the teams exchange."""
    conn = kombu.Connection(settings.amqp_uri)
    channel = conn.channel()
    exchange = kombu.Exchange(envelope.exchange_of(SERVICE), type="topic", durable=True)
    queue = kombu.Queue(f"test-{uuid.uuid4().hex}", exchange=exchange, routing_key="#", exclusive=True)
    queue(channel).declare()

    def drain() -> list[dict]:
        got = []
        while (msg := queue(channel).get(no_ack=True)) is not None:
            got.append(msg.decode())
        return got

    yield drain
    conn.release()


def write_event(uow_factory, marker: str, commit: bool = True) -> None:
    with uow_factory() as uow:
        uow.outbox.add(events_pb2.UserCreated(user=teams_pb2.User(display_name=marker)), subject=f"users/{marker}")
        if commit:
            uow.commit()


def unsent(settings) -> int:
    engine = sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar_one()


def test_relay_publishes_committed_events_as_cloudevents_and_marks_them_sent(settings, uow_factory, listener):
    write_event(uow_factory, "a")
    write_event(uow_factory, "b")
    write_event(uow_factory, "rolled-back", commit=False)
    relay = OutboxRelay(SERVICE, settings.database_url, settings.amqp_uri)
    assert relay.publish_pending() == 2
    relay.close()
    got = listener()
    assert [g["data"]["user"]["displayName"] for g in got] == ["a", "b"]
    assert {g["type"] for g in got} == {"shangji.teams.v1.UserCreated"}
    assert all(g["source"] == "/shangji/teams" and g["specversion"] == "1.0" for g in got)
    assert unsent(settings) == 0


def test_a_row_that_commits_late_is_not_skipped(settings, uow_factory, listener):
    """Transaction A takes an earlier position but commits after B has been relayed."""
    engine = sa.create_engine(settings.database_url)
    slow = engine.connect
    with UnitOfWork(SERVICE, slow, metadata) as uow_a:
        uow_a.outbox.add(events_pb2.UserCreated(user=teams_pb2.User(display_name="late")), subject="users/late")
        uow_a.outbox.flush(uow_a.session)  # position taken, not committed
        write_event(uow_factory, "early")
        relay = OutboxRelay(SERVICE, settings.database_url, settings.amqp_uri)
        assert relay.publish_pending() == 1
        uow_a.session.commit()
    assert relay.publish_pending() == 1
    relay.close()
    engine.dispose()
    assert [g["data"]["user"]["displayName"] for g in listener()] == ["early", "late"]


def test_one_wake_up_takes_every_commit_already_notified(settings, uow_factory, listener):
    """Twenty commits while the relay was busy send twenty notifications; one claim takes their rows, so the
    wake-up must not leave the other nineteen queued, each to cause a round of its own (an empty claim, a
    commit) as it did before."""
    relay = OutboxRelay(SERVICE, settings.database_url, settings.amqp_uri, poll_seconds=30)
    relay.publish_pending()  # connected and listening
    for i in range(20):
        write_event(uow_factory, f"burst-{i}")
    relay._wait_for_wakeup()
    assert relay.publish_pending() == 20
    assert list(relay._db.notifies(timeout=0)) == []
    relay.close()
    assert len(listener()) == 20


def test_relay_wakes_on_notify_well_before_its_poll_interval(settings, uow_factory, listener):
    relay = OutboxRelay(SERVICE, settings.database_url, settings.amqp_uri, poll_seconds=30)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop.is_set,), daemon=True)
    runner.start()
    write_event(uow_factory, "wake")
    deadline = threading.Event()
    got = []
    for _ in range(50):  # at most 5 s, far below the 30 s poll
        got += listener()
        if got:
            break
        deadline.wait(0.1)
    stop.set()
    write_event(uow_factory, "unblock")  # wakes the relay so it sees stop
    runner.join(10)
    assert [g["data"]["user"]["displayName"] for g in got][:1] == ["wake"]


def test_two_relays_never_publish_a_row_twice(settings, uow_factory, listener):
    for i in range(300):
        write_event(uow_factory, f"m{i}")
    relays = [OutboxRelay(SERVICE, settings.database_url, settings.amqp_uri, batch=20) for _ in range(2)]

    def drain(relay):
        while relay.publish_pending():
            pass

    threads = [threading.Thread(target=drain, args=(r,)) for r in relays]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    [r.close() for r in relays]
    names = [g["data"]["user"]["displayName"] for g in listener()]
    assert sorted(names) == sorted(f"m{i}" for i in range(300))
    assert all(r.published > 0 for r in relays)


def test_inbox_claims_an_event_once_even_concurrently(settings, uow_factory):
    event_id = str(uuid.uuid4())
    results = []
    barrier = threading.Barrier(4)

    def claim():
        with uow_factory() as uow:
            barrier.wait()
            won = uow.claim_event("test.consumer", event_id, "t")
            uow.commit()
            results.append(won)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(results) == [False, False, False, True]
    with uow_factory() as uow:
        assert uow.claim_event("another.consumer", event_id, "t") is True


def test_events_a_query_makes_go_out_like_events_added_one_by_one(settings, uow_factory, listener):
    """``Outbox.insert_selected`` (an import's events from its staged rows): the same envelope as ``flush``'s, in
    the query's order, published by the same relay."""
    with uow_factory() as uow:
        uow.outbox.add(events_pb2.UserCreated(user=teams_pb2.User(display_name="one by one")), subject="users/x")
        uow.outbox.flush(uow.session)
        written = uow.outbox.insert_selected(
            uow.session, "SELECT 'shangji.teams.v1.UserCreated' AS type, 'users/' || n AS subject, "
            "jsonb_build_object('user', jsonb_build_object('displayName', 'set ' || n)) AS data, -n AS ord "
            "FROM generate_series(1, 3) AS n")
        uow.commit()
    assert written == 3
    relay = OutboxRelay(SERVICE, settings.database_url, settings.amqp_uri)
    assert relay.publish_pending() == 4
    relay.close()
    got = listener()
    assert [g["data"]["user"]["displayName"] for g in got] == ["one by one", "set 3", "set 2", "set 1"]
    first, *rest = got
    for event in rest:
        assert set(event) == set(first)
        assert {k: v for k, v in event.items() if k not in ("id", "time", "subject", "data")} == \
            {k: v for k, v in first.items() if k not in ("id", "time", "subject", "data")}
        assert uuid.UUID(event["id"]).version == 4
    assert unsent(settings) == 0
