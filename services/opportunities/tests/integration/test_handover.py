"""OwnershipTransferred through the worker: open deals move to the successor with a history row each; won and
lost deals stay; the old owner loses access unless they are on the team."""

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from opportunities.service_layer import projection
from shangji.opportunities.v1 import opportunities_pb2


@pytest.fixture
def deal_row(scalar):
    def read(name: str) -> dict:
        return scalar("SELECT row_to_json(o) FROM opportunities o WHERE id = :id", id=name.split("/")[1])

    return read


@pytest.fixture
def history(scalar):
    def read(name: str) -> list[dict]:
        return scalar("SELECT coalesce(json_agg(c ORDER BY change_time), '[]') FROM owner_changes c "
                      "WHERE opportunity_id = :id", id=name.split("/")[1])

    return read


@pytest.fixture
def at_stage(execute):
    def move(name: str, stage: str) -> None:
        execute("UPDATE opportunities SET stage_key = :s WHERE id = :id", s=stage, id=name.split("/")[1])

    return move


def sees(as_user, user_id: str, name: str) -> bool:
    try:
        as_user(user_id).GetOpportunity(opportunities_pb2.GetOpportunityRequest(name=name))
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.NOT_FOUND
        return False
    return True


def test_open_deals_move_with_history_and_closed_ones_stay(org, worker, register, at_stage, deal_row, history):
    leaver, successor = org.user(), org.user()
    fresh, late, won, lost = (register(leaver) for _ in range(4))
    at_stage(late, "negotiation")
    at_stage(won, "won")
    at_stage(lost, "lost")
    someone_elses = register(str(uuid.uuid4()))
    body = org.transfer_event(leaver, successor, transfer_id="xfer-1")
    worker.on_ownership_transferred(body)
    for name, stage in ((fresh, "discover"), (late, "negotiation")):
        row = deal_row(name)
        assert (row["owner_id"], row["stage_key"], row["version"], row["registrant_id"]) == \
            (successor, stage, 2, leaver)
        assert row["update_time"] > row["create_time"]
        (change,) = history(name)
        assert (change["from_owner_id"], change["to_owner_id"], change["transfer_id"]) == \
            (leaver, successor, "xfer-1")
        assert change["change_time"][:19] == body["data"]["transferTime"][:19]
    for name in (won, lost):
        assert (deal_row(name)["owner_id"], deal_row(name)["version"], history(name)) == (leaver, 1, [])
    assert deal_row(someone_elses)["version"] == 1


def test_a_redelivered_or_repeated_transfer_moves_nothing_more(org, worker, register, deal_row, history, scalar):
    leaver, successor = org.user(), org.user()
    deal = register(leaver)
    body = org.transfer_event(leaver, successor, transfer_id="xfer-2")
    worker.on_ownership_transferred(body)
    worker.on_ownership_transferred(body)
    again = org.transfer_event(leaver, successor, transfer_id="xfer-2")  # same transfer, another event id
    worker.on_ownership_transferred(again)
    assert (deal_row(deal)["owner_id"], deal_row(deal)["version"], len(history(deal))) == (successor, 2, 1)
    assert scalar("SELECT count(*) FROM inbox WHERE consumer = :c AND event_id IN (:a, :b)",
                  c=projection.OWNERSHIP_TRANSFERRED_CONSUMER, a=body["id"], b=again["id"]) == 2


def test_a_deal_handed_on_twice_keeps_both_moves(org, worker, register, history):
    a, b, c = org.user(), org.user(), org.user()
    deal = register(a)
    worker.on_ownership_transferred(org.transfer_event(a, b))
    worker.on_ownership_transferred(org.transfer_event(b, c))
    assert [(h["from_owner_id"], h["to_owner_id"]) for h in history(deal)] == [(a, b), (b, c)]


def test_the_old_owner_loses_access_unless_on_the_team(as_user, org, worker, register):
    leaver, successor = org.user(), org.user()
    dropped, teamed = register(leaver), register(leaver)
    org.add_member(teamed, leaver, can_edit=False)
    worker.on_ownership_transferred(org.transfer_event(leaver, successor))
    assert not sees(as_user, leaver, dropped)
    assert sees(as_user, leaver, teamed)
    assert sees(as_user, successor, dropped) and sees(as_user, successor, teamed)
    listed = as_user(successor).ListOpportunities(opportunities_pb2.ListOpportunitiesRequest())
    assert [o.name for o in listed.opportunities] == [teamed, dropped]
    assert all(o.owner == f"users/{successor}" and o.etag == "2" for o in listed.opportunities)


def test_an_etag_read_before_the_handover_is_aborted(as_user, org, worker, register):
    leaver, successor, boss = org.user(), org.user(), org.user()
    dept = org.department(head=boss)
    org.user(leaver, department=dept, kind="UserUpdated")
    deal = register(leaver)
    etag = as_user(boss).GetOpportunity(opportunities_pb2.GetOpportunityRequest(name=deal)).etag
    worker.on_ownership_transferred(org.transfer_event(leaver, successor))
    org.user(successor, department=dept, kind="UserUpdated")
    with pytest.raises(grpc.RpcError) as exc:
        as_user(boss).UpdateOpportunity(opportunities_pb2.UpdateOpportunityRequest(
            opportunity=opportunities_pb2.Opportunity(name=deal, title="交接前的修改"),
            update_mask=field_mask_pb2.FieldMask(paths=["title"]), etag=etag))
    assert exc.value.code() == grpc.StatusCode.ABORTED


def test_a_transfer_of_someone_without_deals_is_claimed_and_changes_nothing(org, worker, scalar):
    body = org.transfer_event(org.user(), org.user())
    worker.on_ownership_transferred(body)
    assert scalar("SELECT count(*) FROM inbox WHERE event_id = :e", e=body["id"]) == 1
    assert scalar("SELECT count(*) FROM owner_changes WHERE transfer_id = :t", t=body["data"]["transferId"]) == 0
