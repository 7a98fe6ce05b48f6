"""The OpportunityRegistered consumer against the session's real notify database."""

import uuid

import pytest

from shangji_kit.errors import InvalidArgument


def test_a_registered_deal_notifies_its_owner(worker, opportunity_registered, scalar):
    owner, registrant = str(uuid.uuid4()), str(uuid.uuid4())
    body = opportunity_registered(owner=owner, registrant=registrant)
    worker.on_opportunity_registered(body)
    row = scalar("SELECT row_to_json(n) FROM notifications n WHERE recipient_id = :r", r=owner)
    assert row["title"] == "新商机已登记：智能仓储系统二期"
    assert "华东精密机械有限公司" in row["body"] and "发现机会" in row["body"] and f"users/{registrant}" in row["body"]
    assert (row["subject"], row["read"], row["read_time"]) == (body["subject"], False, None)
    assert row["source_event_id"] == body["id"]


def test_the_same_event_twice_makes_one_notification(worker, opportunity_registered, scalar):
    owner = str(uuid.uuid4())
    body = opportunity_registered(owner=owner)
    worker.on_opportunity_registered(body)
    worker.on_opportunity_registered(body)
    assert scalar("SELECT count(*) FROM notifications WHERE recipient_id = :r", r=owner) == 1


def test_a_malformed_event_is_rejected_and_writes_nothing(worker, opportunity_registered, scalar):
    body = opportunity_registered(owner=str(uuid.uuid4()))
    body["data"]["opportunity"]["owner"] = ""
    with pytest.raises(InvalidArgument) as exc:
        worker.on_opportunity_registered(body)
    assert exc.value.violations[0].field == "opportunity.owner"
    assert scalar("SELECT count(*) FROM inbox WHERE event_id = :e", e=body["id"]) == 0
