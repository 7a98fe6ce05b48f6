"""Sample requests that followed their deal to a new owner: the owner is told of the approval, the rejection and the
feedback, beside the requester, through the worker's handlers against the session's real notify database."""

import uuid

from shangji.samples.v1 import events_pb2 as sample_events
from shangji.samples.v1 import samples_pb2
from shangji_kit.testing import envelopes


def _request(requester: str, owner: str) -> samples_pb2.SampleRequest:
    return samples_pb2.SampleRequest(name=f"sampleRequests/{uuid.uuid4()}", customer_company="浙江远大",
                                     requester=f"users/{requester}", owner=f"users/{owner}", total_quantity=4,
                                     estimated_cost="400", currency="CNY")


def _titles(scalar, user: str) -> list[str]:
    return scalar("SELECT coalesce(json_agg(title ORDER BY title), '[]') FROM notifications WHERE recipient_id = :r",
                  r=user)


def test_the_owner_and_the_requester_each_hear_of_the_approval_and_the_rejection(worker, scalar):
    requester, owner, approver = (str(uuid.uuid4()) for _ in range(3))
    approved = envelopes.published("samples", sample_events.SampleRequestApproved(
        request=_request(requester, owner), approver=f"users/{approver}"))
    worker.on_sample_approved(approved)
    worker.on_sample_approved(approved)  # redelivered: nobody is told twice
    worker.on_sample_rejected(envelopes.published("samples", sample_events.SampleRequestRejected(
        request=_request(requester, owner), approver=f"users/{approver}", comment="数量过多")))
    assert _titles(scalar, owner) == _titles(scalar, requester) == ["样品申请已批准", "样品申请被驳回"]
    body = scalar("SELECT body FROM notifications WHERE recipient_id = :r AND title = '样品申请被驳回'", r=owner)
    assert "数量过多" in body and "浙江远大" in body
    assert _titles(scalar, approver) == []


def test_a_request_not_moved_tells_its_requester_once(worker, scalar):
    requester = str(uuid.uuid4())
    body = envelopes.published("samples", sample_events.SampleRequestApproved(request=_request(requester, requester)))
    worker.on_sample_approved(body)
    assert _titles(scalar, requester) == ["样品申请已批准"]
    assert scalar("SELECT count(*) FROM notifications WHERE source_event_id = :e", e=body["id"]) == 1


def test_feedback_goes_to_its_assignee_and_the_owner_hears_of_it(worker, scalar):
    requester, owner, engineer = (str(uuid.uuid4()) for _ in range(3))
    worker.on_sample_feedback_raised(envelopes.published("samples", sample_events.SampleFeedbackRaised(
        request=_request(requester, owner), feedback="sampleRequests/s/feedback/f", summary="高温下读数漂移",
        assignee=f"users/{engineer}")))
    assert _titles(scalar, engineer) == ["试用问题分配给你"]
    assert _titles(scalar, owner) == ["样品试用有新反馈"]
    assert "高温下读数漂移" in scalar("SELECT body FROM notifications WHERE recipient_id = :r", r=owner)
    assert _titles(scalar, requester) == []

    # The owner is the assignee too: one notice, the one that asks them to act.
    worker.on_sample_feedback_raised(envelopes.published("samples", sample_events.SampleFeedbackRaised(
        request=_request(requester, engineer), feedback="sampleRequests/s/feedback/g", summary="外壳开裂",
        assignee=f"users/{engineer}")))
    assert _titles(scalar, engineer) == ["试用问题分配给你", "试用问题分配给你"]
