"""Issue 11 in samples: the caller is checked before the input, every bad field is named, times and amounts out of
range are INVALID_ARGUMENT (never INTERNAL), request ids belong to their caller; nothing is written on an error."""

import threading

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from shangji.samples.v1 import samples_pb2 as pb

from .conftest import count, outbox_types, violations

BAD_POLICY = pb.ApprovalPolicy(currency="??", tiers=[pb.ApprovalTier(name="", approver_role="")])
BEYOND_9999 = Timestamp(seconds=400_000_000_000)


def test_admin_only_calls_check_the_caller_before_the_input(world):
    rep = world.sam(world.rep)
    calls = [
        lambda: rep.UpdateApprovalPolicy(pb.UpdateApprovalPolicyRequest(policy=BAD_POLICY)),
        lambda: rep.CreateProduct(pb.CreateProductRequest(product=pb.Product(code="bad code!", unit_cost="NaN"))),
        lambda: rep.UpdateProduct(pb.UpdateProductRequest(product=pb.Product(name="nonsense"),
                                                          update_mask=FieldMask(paths=["nope"]))),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as exc:
            call()
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # An admin with the same bad policy learns what is wrong.
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.ops).UpdateApprovalPolicy(pb.UpdateApprovalPolicyRequest(policy=BAD_POLICY))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("unit_cost", ["1e309", "NaN", "-Infinity", "123456789012345"])
def test_a_unit_cost_that_is_not_finite_or_too_large_is_invalid_and_nothing_is_written(world, unit_cost):
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.ops).CreateProduct(pb.CreateProductRequest(product=pb.Product(
            code="HUGE", display_name="大", unit_cost=unit_cost, currency="CNY", active=True)))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc.value) == ["product.unit_cost"]
    assert count("products", "code = 'HUGE'") == 0


def test_create_sample_request_names_every_bad_field(world):
    with pytest.raises(grpc.RpcError) as exc:
        world.create("deals/nonsense", ("NOPE", 1), ("PUMP", 0), kind=pb.SampleRequest.KIND_UNSPECIFIED,
                     recipient_name="")
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(violations(exc.value)) == sorted([
        "sample_request.opportunity", "sample_request.kind", "sample_request.recipient_name",
        "sample_request.lines[0].product", "sample_request.lines[1].quantity"])
    assert count("sample_requests") == 0


@pytest.mark.parametrize(("rpc", "field"), [("RecordShipment", "ship_time"), ("RecordDelivery", "deliver_time")])
def test_a_time_out_of_range_is_invalid_argument_naming_it(world, ordered, rpc, field):
    order = ordered()
    request_type = getattr(pb, f"{rpc}Request")
    body = {"name": order.name, field: BEYOND_9999}
    if rpc == "RecordShipment":
        body.update(courier="顺丰", tracking_number="SF1")
    with pytest.raises(grpc.RpcError) as exc:
        getattr(world.sam(world.rep), rpc)(request_type(**body))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc.value) == [field]
    assert world.get(order.name).state == pb.SampleRequest.ORDERED


def test_another_caller_reusing_a_request_id_gets_their_own_request(world):
    deal = world.deal()
    mine = world.create(deal, ("PUMP", 1), request_id="shared-id")
    # A deal of the peer's own: the request id is all the two calls share.
    theirs = world.create(None, ("PUMP", 1), as_user=world.peer, request_id="shared-id")
    assert theirs.name != mine.name and theirs.requester == f"users/{world.peer}"
    assert world.create(deal, ("PUMP", 1), request_id="shared-id") == mine
    assert count("sample_requests") == 2


def test_twenty_concurrent_calls_with_one_request_id_make_one_request_and_twenty_answers(world):
    deal = world.deal()
    barrier = threading.Barrier(20)
    answers: list = [None] * 20

    def call(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = world.create(deal, ("PUMP", 1), request_id="burst")
        except grpc.RpcError as exc:
            answers[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(a, pb.SampleRequest) for a in answers), [a for a in answers if isinstance(a, Exception)]
    assert len({a.name for a in answers}) == 1
    assert count("sample_requests") == 1
    assert outbox_types() == ["SampleRequestSubmitted", "SampleApprovalRequested"]


def test_an_over_long_request_id_is_named_with_the_other_bad_fields(world):
    with pytest.raises(grpc.RpcError) as exc:
        world.create(None, ("PUMP", 1), request_id="x" * 10_000, recipient_name="")
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(violations(exc.value)) == ["request_id", "sample_request.recipient_name"]
    assert count("sample_requests") == 0
