"""Every domain event becomes its contract message about the right subject; ERP events are read as outcomes."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from samples.adapters import protomap
from samples.domain import model
from samples.entrypoints import inbound
from shangji.erp_bridge.v1 import events_pb2 as erp_events
from shangji.samples.v1 import events_pb2 as events
from shangji.samples.v1 import samples_pb2 as pb
from shangji_kit import envelope
from shangji_kit.errors import InvalidArgument
from shangji_kit.testing import envelopes

NOW = datetime(2026, 5, 1, tzinfo=UTC)
RID = "0b5c1f7e-0000-4000-8000-000000000001"


def _request() -> model.SampleRequest:
    cmd = model.RequestInput(opportunity_id="0b5c1f7e-0000-4000-8000-0000000000aa", kind=model.POC, purpose="",
                             recipient_name="王工", recipient_phone="", address="上海", wanted_by_date="",
                             lines=(model.LineInput("PUMP", 3),))
    return model.submit(id=RID, cmd=cmd, wanted_by=None, lines=[model.Line("PUMP", 3, Decimal("12.5000"))],
                        estimated_cost=Decimal("37.5000"), currency="CNY", total_quantity=3, requester_id="u1",
                        cost_centre_id="d1", customer_company="华东", customer="", approvers=[("m", "u2")], now=NOW)


def test_the_request_reads_as_the_contract_says():
    out = protomap.request_to_proto(_request())
    assert (out.name, out.kind, out.state) == (f"sampleRequests/{RID}", pb.SampleRequest.POC,
                                               pb.SampleRequest.PENDING_APPROVAL)
    assert (out.estimated_cost, out.lines[0].unit_cost, out.cost_centre) == ("37.5", "12.5", "departments/d1")
    assert out.approval_steps[0].approver == "users/u2" and out.etag == "1"


@pytest.mark.parametrize(("make", "message", "subject_suffix"), [
    (lambda r: model.Submitted(r), events.SampleRequestSubmitted, ""),
    (lambda r: model.ApprovalRequested(r, "m", "u2"), events.SampleApprovalRequested, ""),
    (lambda r: model.Approved(r, "u2", NOW), events.SampleRequestApproved, ""),
    (lambda r: model.Rejected(r, "u2", "no", NOW), events.SampleRequestRejected, ""),
    (lambda r: model.Withdrawn(r, "", NOW), events.SampleRequestWithdrawn, ""),
    (lambda r: model.OrderRecorded(r), events.SampleOrderRecorded, ""),
    (lambda r: model.Shipped(r), events.SampleShipped, ""),
    (lambda r: model.Delivered(r), events.SampleDelivered, ""),
    (lambda r: model.FeedbackRaised(r, _fb(r)), events.SampleFeedbackRaised, "/feedback/f1"),
    (lambda r: model.FeedbackUpdated(r, _fb(r)), events.SampleFeedbackUpdated, "/feedback/f1"),
    (lambda r: model.FeedbackClosed(r, _fb(r)), events.SampleFeedbackClosed, "/feedback/f1"),
])
def test_every_event_has_its_message(make, message, subject_suffix):
    out, subject = protomap.event_to_proto(make(_request()))
    assert isinstance(out, message)
    assert subject == f"sampleRequests/{RID}{subject_suffix}"
    assert out.request.name == f"sampleRequests/{RID}"


def _fb(r: model.SampleRequest) -> model.Feedback:
    return model.Feedback(id="f1", request_id=r.id, summary="s", detail="", assignee_id="u3", raised_by="u1",
                          state=model.OPEN, create_time=NOW, update_time=NOW)


def _env(message) -> envelope.Envelope:
    return envelopes.parsed("erp_bridge", message, event_id="e1", time=NOW)


def test_erp_events_name_our_request_or_nothing():
    ours = inbound.order_confirmed_from_event(_env(erp_events.ErpOrderConfirmed(
        source_kind="sample_request", source=f"sampleRequests/{RID}", erp_order_number=" SO-1 ")))
    assert (ours.request_id, ours.order_number) == (RID, "SO-1")
    deal = inbound.order_confirmed_from_event(_env(erp_events.ErpOrderConfirmed(
        source_kind="opportunity", source=f"opportunities/{RID}", erp_order_number="SO-2")))
    assert deal.request_id is None
    failed = inbound.order_dead_lettered_from_event(_env(erp_events.ErpOrderDeadLettered(
        source_kind="sample_request", source=f"sampleRequests/{RID}", attempts=8)))
    assert failed.error == "the ERP order failed after 8 attempts"
    with pytest.raises(InvalidArgument):
        inbound.order_confirmed_from_event(_env(erp_events.ErpOrderConfirmed(
            source_kind="sample_request", source=f"sampleRequests/{RID}")))
