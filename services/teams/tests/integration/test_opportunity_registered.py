"""teams learns opportunity owners from OpportunityRegistered: the use case and the worker's handler, against
the real teams database."""

import uuid

import pytest

from shangji_kit.consumer import event_context
from shangji_kit.errors import InvalidArgument
from shangji_kit.settings import Settings
from teams import bootstrap
from teams.entrypoints import inbound
from teams.service_layer import opportunity_owners

CONSUMER = "teams.on_opportunity_registered"


@pytest.fixture
def uow(shangji_env):
    return bootstrap.uow_factory(Settings.for_service("teams"))


def consume(body: dict, uow) -> bool:
    """What the worker's handler does, called directly."""
    with event_context(body) as env:
        return opportunity_owners.record_opportunity_owner(env, uow(), inbound.opportunity_owner_from_event(env))


def test_the_use_case_records_the_owner_once_however_often_the_event_comes(uow, db, opportunity_registered):
    owner = str(uuid.uuid4())
    body = opportunity_registered(owner=owner)
    deal = body["data"]["opportunity"]["id"]
    assert consume(body, uow) is True
    before = db.state()
    assert consume(body, uow) is False  # a redelivery: nothing happens
    assert consume(dict(body), uow) is False
    assert db.state() == before
    assert db.rows("SELECT owner_id::text FROM opportunity_owners WHERE opportunity_id = :o", o=deal) == [(owner,)]
    assert db.scalar("SELECT count(*) FROM inbox WHERE consumer = :c AND event_id = :e", c=CONSUMER,
                     e=body["id"]) == 1
    # Another event id for the same opportunity is claimed, but the owner stays as first recorded.
    other = opportunity_registered(owner=str(uuid.uuid4()), opportunity_id=deal)
    assert consume(other, uow) is False
    assert db.rows("SELECT owner_id::text FROM opportunity_owners WHERE opportunity_id = :o", o=deal) == [(owner,)]
    assert db.scalar("SELECT count(*) FROM inbox WHERE event_id = :e", e=other["id"]) == 1


def test_the_workers_handler_records_the_owner(worker, db, opportunity_registered):
    owner = str(uuid.uuid4())
    body = opportunity_registered(owner=owner)
    worker.on_opportunity_registered(body)
    worker.on_opportunity_registered(body)
    assert db.scalar("SELECT count(*) FROM opportunity_owners WHERE owner_id = :u", u=owner) == 1


def test_a_malformed_event_is_refused_and_writes_nothing(worker, db, opportunity_registered):
    body = opportunity_registered(owner="not-a-user")
    before = db.state()
    with pytest.raises(InvalidArgument) as exc:
        worker.on_opportunity_registered(body)
    assert [v.field for v in exc.value.violations] == ["opportunity.owner"]
    assert db.state() == before
    assert db.scalar("SELECT count(*) FROM inbox WHERE event_id = :e", e=body["id"]) == 0
