"""After the ERP order: shipping, delivery and the customer's feedback during the trial."""

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from shangji.samples.v1 import samples_pb2 as pb

from .conftest import outbox_types, reason, ts, violations

S = pb.SampleRequest
PHOTO = pb.Attachment(file_name="box.jpg", uri="https://files.example/box.jpg", purpose="photo")


def _ship(world, request, user_id=None, **kw):
    fields = {"name": request.name, "courier": "顺丰", "tracking_number": "SF1234567890", "photos": [PHOTO],
              "etag": request.etag}
    fields.update(kw)
    return world.sam(user_id or world.rep).RecordShipment(pb.RecordShipmentRequest(**fields))


def test_shipping_needs_the_erp_order_first(world):
    approved = world.approve(world.create(None, ("PUMP", 1)), world.manager)
    with pytest.raises(grpc.RpcError) as exc:
        _ship(world, approved)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(exc.value) == "NOT_ORDERED"
    assert world.get(approved.name).state == S.APPROVED


def test_shipment_then_delivery_with_evidence(world, ordered):
    order = ordered(number="SO-0042")
    assert (order.state, order.erp_order_number) == (S.ORDERED, "SO-0042")
    shipped_at = datetime.now(UTC) - timedelta(hours=2)
    shipped = _ship(world, order, ship_time=ts(shipped_at))
    assert shipped.state == S.SHIPPED
    assert (shipped.shipment.courier, shipped.shipment.tracking_number) == ("顺丰", "SF1234567890")
    assert shipped.shipment.ship_time.ToDatetime(tzinfo=UTC) == shipped_at
    with pytest.raises(grpc.RpcError) as exc:       # delivered before it left
        world.sam(world.rep).RecordDelivery(pb.RecordDeliveryRequest(
            name=order.name, deliver_time=ts(shipped_at - timedelta(hours=1))))
    assert violations(exc.value) == ["deliver_time"]
    proof = pb.Attachment(file_name="signed.pdf", uri="https://files.example/signed.pdf", purpose="delivery_evidence")
    delivered = world.sam(world.rep).RecordDelivery(pb.RecordDeliveryRequest(name=order.name, evidence=[proof],
                                                                             etag=shipped.etag))
    assert delivered.state == S.DELIVERED and delivered.shipment.HasField("deliver_time")
    assert [a.purpose for a in delivered.shipment.evidence] == ["photo", "delivery_evidence"]
    assert outbox_types()[-3:] == ["SampleOrderRecorded", "SampleShipped", "SampleDelivered"]


def test_shipping_input_and_permissions(world, ordered):
    order = ordered()
    with pytest.raises(grpc.RpcError) as exc:
        _ship(world, order, courier="", tracking_number="")
    assert set(violations(exc.value)) == {"courier", "tracking_number"}
    with pytest.raises(grpc.RpcError) as exc:
        _ship(world, order, user_id=world.manager)     # sees it, is not the requester
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as exc:
        _ship(world, order, etag="1")
    assert exc.value.code() == grpc.StatusCode.ABORTED
    assert world.get(order.name).state == S.ORDERED
    assert _ship(world, order, user_id=world.ops).state == S.SHIPPED      # sales ops may record it


def _raise(world, request, user_id=None, **kw):
    fields = {"summary": "压力不稳", "detail": "3 bar 以上漏水", "assignee": f"users/{world.engineer}"}
    fields.update(kw)
    return world.sam(user_id or world.rep).RaiseFeedback(pb.RaiseFeedbackRequest(
        parent=request.name, feedback=pb.Feedback(**fields)))


def test_feedback_is_raised_assigned_updated_and_closed(world, ordered):
    shipped = _ship(world, ordered())
    fb = _raise(world, shipped)
    assert fb.state == pb.Feedback.OPEN and fb.raised_by == f"users/{world.rep}"
    assert fb.name.startswith(f"{shipped.name}/feedback/")
    # The assignee now sees the request, though visibility alone would not show it to them.
    assert world.get(shipped.name, world.engineer).name == shipped.name
    updated = world.sam(world.engineer).UpdateFeedback(pb.UpdateFeedbackRequest(
        feedback=pb.Feedback(name=fb.name, summary="密封圈漏水", assignee=f"users/{world.peer}"),
        update_mask=FieldMask(paths=["summary"]), etag=fb.etag))
    assert (updated.summary, updated.assignee, updated.detail) == ("密封圈漏水", f"users/{world.engineer}",
                                                                   "3 bar 以上漏水")
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.engineer).CloseFeedback(pb.CloseFeedbackRequest(name=fb.name, resolution="换了", etag=fb.etag))
    assert exc.value.code() == grpc.StatusCode.ABORTED
    closed = world.sam(world.engineer).CloseFeedback(pb.CloseFeedbackRequest(name=fb.name, resolution="更换密封圈"))
    assert closed.state == pb.Feedback.CLOSED and closed.HasField("close_time")
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.rep).CloseFeedback(pb.CloseFeedbackRequest(name=fb.name, resolution="again"))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(exc.value) == "FEEDBACK_CLOSED"
    second = _raise(world, shipped, summary="噪音")
    listed = world.sam(world.manager).ListFeedback(pb.ListFeedbackRequest(parent=shipped.name))
    assert [f.name for f in listed.feedback] == [fb.name, second.name]
    assert outbox_types()[-4:] == ["SampleFeedbackRaised", "SampleFeedbackUpdated", "SampleFeedbackClosed",
                                   "SampleFeedbackRaised"]


def test_feedback_input_is_checked_and_nothing_is_written(world, ordered):
    order = ordered()
    with pytest.raises(grpc.RpcError) as exc:        # not shipped yet
        _raise(world, order)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(exc.value) == "NOT_IN_TRIAL"
    shipped = _ship(world, order)
    world.org.user(world.peer, department=world.team, active=False, kind="UserDeactivated")
    for bad in ({"assignee": ""}, {"assignee": f"users/{world.peer}"}, {"summary": " "}):
        with pytest.raises(grpc.RpcError) as exc:
            _raise(world, shipped, **bad)
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as exc:
        _raise(world, shipped, user_id=world.other_manager)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert list(world.sam(world.rep).ListFeedback(pb.ListFeedbackRequest(parent=shipped.name)).feedback) == []
    fb = _raise(world, shipped)
    with pytest.raises(grpc.RpcError) as exc:        # the manager sees the request but is no party to the feedback
        world.sam(world.manager).CloseFeedback(pb.CloseFeedbackRequest(name=fb.name, resolution="x"))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
