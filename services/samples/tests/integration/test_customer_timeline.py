"""ListCustomerTimeline: a customer's sample requests the caller may see, with their approvals, rejection,
withdrawal, ERP order, shipment, delivery and feedback, newest first; pages that join without duplicates or gaps;
bad input refused by field."""

import uuid
from datetime import UTC, datetime

import grpc
import pytest

from shangji.opportunities.v1 import opportunities_pb2 as opp_pb
from shangji.samples.v1 import samples_pb2 as pb
from shangji_kit.testing.service_db import ServiceDb

from .conftest import erp_event, violations

OPPORTUNITIES = ServiceDb("opportunities")


def customer_of(owner: str) -> str:
    """A leads customer owned by ``owner``, as opportunities learns it from leads' CustomerCreated."""
    customer_id = str(uuid.uuid4())
    OPPORTUNITIES.execute("INSERT INTO customer_owners (customer_id, owner_id, update_time) VALUES (:c, :o, now())",
                          c=customer_id, o=owner)
    return customer_id


def deal_for(world, customer_id: str) -> opp_pb.Opportunity:
    return world.opp(world.rep).RegisterOpportunity(opp_pb.RegisterOpportunityRequest(opportunity=opp_pb.Opportunity(
        customer_company=f"华东精密机械 {uuid.uuid4().hex[:8]}有限公司", product_lines=["pumps"],
        customer=f"customers/{customer_id}")))


def timeline(world, user_id: str, customer_id: str, page_size: int = 0, page_token: str = ""
             ) -> pb.ListCustomerTimelineResponse:
    return world.sam(user_id).ListCustomerTimeline(pb.ListCustomerTimelineRequest(
        customer=f"customers/{customer_id}", page_size=page_size, page_token=page_token))


def test_a_customers_requests_read_newest_first_for_those_who_may_see_them(world, worker):
    customer = customer_of(world.rep)
    deal = deal_for(world, customer)
    shipped = world.create(deal, ("PUMP", 2), purpose="压力测试")
    world.approve(shipped, world.manager, comment="可以")
    worker.on_erp_order_confirmed(erp_event("ErpOrderConfirmed", shipped.name, erp_order_number="SO-7"))
    rep = world.sam(world.rep)
    rep.RecordShipment(pb.RecordShipmentRequest(name=shipped.name, courier="顺丰", tracking_number="SF1"))
    rep.RecordDelivery(pb.RecordDeliveryRequest(name=shipped.name))
    feedback = rep.RaiseFeedback(pb.RaiseFeedbackRequest(parent=shipped.name, feedback=pb.Feedback(
        summary="压力不稳", detail="3 bar 以上漏水", assignee=f"users/{world.engineer}")))
    rejected = world.create(deal, ("VALVE", 1))
    world.sam(world.manager).RejectSampleRequest(pb.RejectSampleRequestRequest(name=rejected.name, comment="太贵"))
    withdrawn = world.create(deal, ("PUMP", 1))
    rep.WithdrawSampleRequest(pb.WithdrawSampleRequestRequest(name=withdrawn.name, reason="客户不需要了"))
    world.create(world.deal(), ("PUMP", 1))  # another customer's request: not on this timeline

    rep_id, manager = f"users/{world.rep}", f"users/{world.manager}"
    expected = [
        ("sample_withdrawn", withdrawn.name, "样品申请已撤回", "", rep_id),
        ("sample_requested", withdrawn.name, "样品申请: 1 件", "试用", rep_id),
        ("sample_rejected", rejected.name, "样品申请被驳回 (sales_manager)", "太贵", manager),
        ("sample_requested", rejected.name, "样品申请: 1 件", "试用", rep_id),
        ("sample_feedback", feedback.name, "样品反馈: 压力不稳", "3 bar 以上漏水", rep_id),
        ("sample_delivered", shipped.name, "样品已签收", "", ""),
        ("sample_shipped", shipped.name, "样品已发货: 顺丰 SF1", "", ""),
        ("erp_order", shipped.name, "ERP 样品订单 SO-7", "", ""),
        ("sample_approved", shipped.name, "样品审批通过 (sales_manager)", "可以", manager),
        ("sample_requested", shipped.name, "样品申请: 2 件", "压力测试", rep_id),
    ]
    items = timeline(world, world.rep, customer).items
    assert [(i.kind, i.resource, i.title, i.summary, i.actor) for i in items] == expected
    assert {i.opportunity for i in items} == {deal.name}
    times = [i.event_time.ToDatetime(tzinfo=UTC) for i in items]
    assert times == sorted(times, reverse=True) and times[0] <= datetime.now(UTC)
    assert [i.kind for i in timeline(world, world.manager, customer).items] == [k for k, *_ in expected]
    # The feedback's assignee sees the request handed to them, nothing else; a peer and another team's head nothing.
    assert {i.resource for i in timeline(world, world.engineer, customer).items} == {shipped.name, feedback.name}
    for stranger in (world.peer, world.other_manager):
        page = timeline(world, stranger, customer)
        assert (list(page.items), page.next_page_token) == ([], "")

    for size in (1, 3, 4):
        paged, token = [], ""
        while True:
            page = timeline(world, world.rep, customer, size, token)
            assert len(page.items) <= size
            paged.extend((i.kind, i.resource) for i in page.items)
            token = page.next_page_token
            if not token:
                break
        assert paged == [(k, r) for k, r, *_ in expected], size


@pytest.mark.parametrize(("fields", "field"), [
    ({"customer": ""}, "customer"),
    ({"customer": "customers/x"}, "customer"),
    ({"page_size": -5}, "page_size"),
    ({"page_token": "bm90IGEgdG9rZW4="}, "page_token"),
    ({"page_token": "%%%"}, "page_token"),
])
def test_bad_input_is_refused_naming_the_field(world, fields, field):
    request = pb.ListCustomerTimelineRequest(**{"customer": f"customers/{uuid.uuid4()}", **fields})
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.rep).ListCustomerTimeline(request)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and violations(exc.value) == [field]
