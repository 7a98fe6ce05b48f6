"""Open requests follow their deal's owner: opportunities' OpportunityReassigned (published on the real broker and
consumed by the worker process, and on the handler) and teams' OwnershipTransferred; the owner then sees the request
and may do what the requester may."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from shangji.opportunities.v1 import events_pb2 as opp_events
from shangji.opportunities.v1 import opportunities_pb2 as opp_pb
from shangji.samples.v1 import samples_pb2 as pb
from shangji.teams.v1 import events_pb2 as teams_events
from shangji_kit.errors import InvalidArgument
from shangji_kit.testing import envelopes
from shangji_kit.testing.wait import eventually

from .conftest import DB, count, publish, ts

S = pb.SampleRequest


def u(user_id: str) -> str:
    return f"users/{user_id}"


def reassigned(deal_name: str, previous: str, new: str, *, at: datetime | None = None) -> dict:
    message = opp_events.OpportunityReassigned(
        opportunity=opp_pb.Opportunity(name=deal_name, owner=u(new)), previous_owner=u(previous), new_owner=u(new),
        actor=u(str(uuid.uuid4())), reason="区域调整", change_time=ts(at or datetime.now(UTC)))
    return envelopes.published("opportunities", message, subject=deal_name)


def transferred(leaver: str, successor: str, *, at: datetime | None = None) -> dict:
    message = teams_events.OwnershipTransferred(
        transfer_id=str(uuid.uuid4()), from_user=u(leaver), to_user=u(successor), requested_by=u(str(uuid.uuid4())),
        transfer_time=ts(at or datetime.now(UTC)))
    return envelopes.published("teams", message, subject=u(leaver))


def owner_changes(name: str) -> list[tuple]:
    rows = DB.rows("SELECT data FROM outbox WHERE type = 'shangji.samples.v1.SampleRequestOwnerChanged' "
                   "AND subject = :s ORDER BY position", s=name)
    return [(d["previousOwner"], d["newOwner"], d["cause"], d["request"]["owner"]) for (d,) in rows]


def rejected(world, deal) -> pb.SampleRequest:
    created = world.create(deal)
    return world.sam(world.manager).RejectSampleRequest(pb.RejectSampleRequestRequest(
        name=created.name, comment="预算不足", etag=created.etag))


def test_a_reassigned_deal_on_the_broker_takes_its_open_requests_to_the_new_owner(world, samples_worker):
    deal = world.deal()
    pending = world.create(deal)
    approved = world.approve(world.create(deal), world.manager)
    ended = rejected(world, deal)
    elsewhere = world.create(None)  # another deal of the same rep
    assert pending.owner == u(world.rep)  # the requester until the deal changes hands

    publish("opportunities", reassigned(deal.name, world.rep, world.peer))
    moved = eventually(lambda: (r := world.get(pending.name, world.ops)).owner == u(world.peer) and r,
                       what="the pending request moved to the peer by the worker")
    assert (moved.state, moved.requester, moved.etag) == (S.PENDING_APPROVAL, u(world.rep), str(int(pending.etag) + 1))
    assert world.get(approved.name, world.ops).owner == u(world.peer)
    assert world.get(ended.name, world.ops).owner == u(world.rep)       # rejected: it ended, it stays
    assert world.get(elsewhere.name, world.ops).owner == u(world.rep)   # another deal
    assert owner_changes(pending.name) == [(u(world.rep), u(world.peer), "reassign", u(world.peer))]
    assert owner_changes(ended.name) == []

    # The peer leaves: teams hands their work to the manager, and the requests they follow go too.
    publish("teams", transferred(world.peer, world.manager))
    eventually(lambda: world.get(pending.name, world.ops).owner == u(world.manager),
               what="the pending request handed over to the manager by the worker")
    assert world.get(approved.name, world.ops).owner == u(world.manager)
    assert world.get(elsewhere.name, world.ops).owner == u(world.rep)  # the rep's own, not the peer's
    assert owner_changes(approved.name)[-1] == (u(world.peer), u(world.manager), "handover", u(world.manager))


def test_the_owner_sees_the_request_and_may_do_what_the_requester_may(world, worker, ordered):
    deal = world.deal()
    pending = world.create(deal)
    peer = world.sam(world.peer)
    with pytest.raises(grpc.RpcError) as exc:
        peer.GetSampleRequest(pb.GetSampleRequestRequest(name=pending.name))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND  # a teammate who is not its owner (yet)
    worker.on_opportunity_reassigned(reassigned(deal.name, world.rep, world.peer))
    seen = peer.GetSampleRequest(pb.GetSampleRequestRequest(name=pending.name))
    assert (seen.owner, seen.requester) == (u(world.peer), u(world.rep))
    listed = peer.ListSampleRequests(pb.ListSampleRequestsRequest()).sample_requests
    assert [r.name for r in listed] == [pending.name]
    withdrawn = peer.WithdrawSampleRequest(pb.WithdrawSampleRequestRequest(name=pending.name, reason="客户改期",
                                                                         etag=seen.etag))
    assert withdrawn.state == S.WITHDRAWN

    # In trial: the new owner records the shipment and changes the feedback, as the requester could.
    shipped_deal_request = ordered()
    worker.on_opportunity_reassigned(reassigned(shipped_deal_request.opportunity, world.rep, world.peer))
    ordered_now = peer.GetSampleRequest(pb.GetSampleRequestRequest(name=shipped_deal_request.name))
    shipped = peer.RecordShipment(pb.RecordShipmentRequest(name=ordered_now.name, courier="顺丰",
                                                           tracking_number="SF100", etag=ordered_now.etag))
    assert shipped.state == S.SHIPPED
    feedback = world.sam(world.rep).RaiseFeedback(pb.RaiseFeedbackRequest(
        parent=shipped.name, feedback=pb.Feedback(summary="噪音偏大", assignee=u(world.engineer))))
    closed = peer.CloseFeedback(pb.CloseFeedbackRequest(name=feedback.name, resolution="已更换轴承",
                                                        etag=feedback.etag))
    assert closed.state == pb.Feedback.CLOSED


def test_the_new_owners_managers_see_the_request_too(world, worker):
    deal = world.deal()
    pending = world.create(deal)
    newcomer = world.org.user(str(uuid.uuid4()), department=world.other)
    other_head = world.sam(world.other_manager)
    with pytest.raises(grpc.RpcError) as exc:
        other_head.GetSampleRequest(pb.GetSampleRequestRequest(name=pending.name))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND  # the requester is not in their department

    worker.on_opportunity_reassigned(reassigned(deal.name, world.rep, newcomer))
    assert other_head.GetSampleRequest(pb.GetSampleRequestRequest(name=pending.name)).owner == u(newcomer)
    assert [r.name for r in other_head.ListSampleRequests(pb.ListSampleRequestsRequest()).sample_requests] \
        == [pending.name]
    # the requester's line still sees it: the request is still theirs too
    assert world.get(pending.name, world.manager).owner == u(newcomer)


def test_a_handover_moves_the_open_requests_the_leaver_follows_once(world, worker):
    deal = world.deal()
    pending = world.create(deal)
    ended = rejected(world, deal)
    body = transferred(world.rep, world.peer)
    worker.on_ownership_transferred(body)
    worker.on_ownership_transferred(body)  # redelivered: the inbox has it
    assert world.get(pending.name, world.ops).owner == u(world.peer)
    assert world.get(ended.name, world.ops).owner == u(world.rep)
    assert owner_changes(pending.name) == [(u(world.rep), u(world.peer), "handover", u(world.peer))]
    assert count("inbox", "consumer = :c", c="samples.on_ownership_transferred") == 1


def test_an_older_change_arriving_late_is_ignored(world, worker):
    deal = world.deal()
    pending = world.create(deal)
    now = datetime.now(UTC)
    worker.on_opportunity_reassigned(reassigned(deal.name, world.rep, world.manager, at=now))
    worker.on_opportunity_reassigned(reassigned(deal.name, world.rep, world.peer, at=now - timedelta(minutes=5)))
    assert world.get(pending.name, world.ops).owner == u(world.manager)
    assert owner_changes(pending.name) == [(u(world.rep), u(world.manager), "reassign", u(world.manager))]
    assert count("inbox", "consumer = :c", c="samples.on_opportunity_reassigned") == 2


@pytest.mark.parametrize(("field", "spoil"), [
    ("new_owner", lambda data: data.update(newOwner="people/1")),
    ("opportunity.name", lambda data: data["opportunity"].update(name="")),
])
def test_a_malformed_reassignment_is_refused_and_moves_nothing(world, worker, field, spoil):
    deal = world.deal()
    pending = world.create(deal)
    body = reassigned(deal.name, world.rep, world.peer)
    spoil(body["data"])
    with pytest.raises(InvalidArgument) as exc:
        worker.on_opportunity_reassigned(body)
    assert [v.field for v in exc.value.violations] == [field]
    assert world.get(pending.name, world.ops).owner == u(world.rep)
    assert count("inbox", "consumer = :c", c="samples.on_opportunity_reassigned") == 0
