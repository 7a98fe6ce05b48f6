"""The customer 360 across the suite, through gRPC only: a lead with a follow-up is converted, the deal moves a
stage, a sample is requested for it, and GetCustomerTimeline shows all of it newest first, each service showing the
caller only what they may open; the same token pages across the three sources."""

import datetime as dt
import uuid

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2 as opp_pb
from shangji.samples.v1 import samples_pb2, samples_pb2_grpc
from shangji.teams.v1 import teams_pb2
from shangji_kit.rpc.client import Caller
from shangji_kit.testing.wait import eventually

SOON = (dt.date.today() + dt.timedelta(days=30)).isoformat()


@pytest.fixture
def samples_for(suite, token_for):
    channel = grpc.insecure_channel(suite.target("samples"))
    yield lambda rep: Caller(samples_pb2_grpc.SamplesServiceStub(channel), token_for(rep.user.id))
    channel.close()


def _until_ok(call, what: str):
    """Call until the samples worker has learnt the organisation the call depends on."""
    def probe():
        try:
            return call()
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION):
                return None
            raise
    return eventually(probe, what=what)


def _timeline(rep, customer: str, page_size: int = 0, page_token: str = "") -> leads_pb2.CustomerTimeline:
    return rep.leads.GetCustomerTimeline(leads_pb2.GetCustomerTimelineRequest(
        customer=customer, page_size=page_size, page_token=page_token))


def test_a_customers_story_across_the_conversion_reads_newest_first(admin, new_rep, samples_for):
    manager = new_rep("经理")
    team = admin.CreateDepartment(teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
        display_name=f"华东销售部{uuid.uuid4().hex[:4]}", head=manager.user.name)))
    rep = new_rep("甲", department=team.name, roles=("sales_rep",))
    ops = new_rep("运营", roles=("sales_ops",))
    outsider = new_rep("丙", roles=("sales_rep",))
    product = f"PUMP-{uuid.uuid4().hex[:6]}"
    _until_ok(lambda: samples_for(ops).CreateProduct(samples_pb2.CreateProductRequest(product=samples_pb2.Product(
        code=product, display_name="试用泵", unit_cost="100", currency="CNY", active=True))),
        "sales ops known to samples")

    lead = rep.new_lead(company=f"华东精密 {uuid.uuid4().hex[:6]} 有限公司")
    follow_up = rep.leads.AddFollowUp(leads_pb2.AddFollowUpRequest(name=lead.name, kind=leads_pb2.FollowUp.VISIT,
                                                                   note="客户想看产线"))
    converted = rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, opportunity_title="产线改造"))
    customer = converted.customer
    [deal] = eventually(rep.opportunities_list, what="the deal registered from the conversion")
    assert deal.customer == customer
    api = rep.opportunities
    deal = api.UpdateOpportunity(opp_pb.UpdateOpportunityRequest(
        opportunity=opp_pb.Opportunity(name=deal.name, expected_close_date=SOON),
        update_mask=FieldMask(paths=["expected_close_date"]), etag=deal.etag))
    deal = api.CompleteChecklistItem(opp_pb.CompleteChecklistItemRequest(name=deal.name, item="need_confirmed"))
    deal = api.AdvanceStage(opp_pb.AdvanceStageRequest(name=deal.name, etag=deal.etag))
    request = _until_ok(lambda: samples_for(rep).CreateSampleRequest(samples_pb2.CreateSampleRequestRequest(
        sample_request=samples_pb2.SampleRequest(
            opportunity=deal.name, kind=samples_pb2.SampleRequest.STANDARD, purpose="压力测试", recipient_name="王工",
            address="上海市", lines=[samples_pb2.SampleLine(product=product, quantity=2)]))),
        "the rep's department known to samples")

    expected = [
        ("samples", "sample_requested", request.name, "样品申请: 2 件"),
        ("opportunities", "stage_changed", deal.name, "阶段: 发现机会 → 验证机会"),
        ("opportunities", "opportunity_registered", deal.name, "商机报备: 产线改造"),
        ("leads", "lead_converted", lead.name, f"线索转化: {lead.company} 王经理"),
        ("leads", "follow_up", follow_up.name, f"跟进(拜访): {lead.company} 王经理"),
        ("leads", "lead_created", lead.name, f"新线索: {lead.company} 王经理"),
    ]
    page = _timeline(rep, customer)
    assert [(i.source, i.kind, i.resource, i.title) for i in page.items] == expected
    assert (list(page.unavailable_sources), page.next_page_token) == ([], "")
    assert {i.actor for i in page.items if i.kind != "lead_created"} == {rep.user.name}
    assert [i.opportunity for i in page.items[:3]] == [deal.name] * 3

    # Two at a time, the token moving across the three services.
    paged, token = [], ""
    while True:
        part = _timeline(rep, customer, 2, token)
        paged.extend((i.source, i.kind, i.resource, i.title) for i in part.items)
        token = part.next_page_token
        if not token:
            break
    assert paged == expected

    # The rep's manager sees it all; a rep of no team does not see the customer at all.
    everything = [(s, k) for s, k, *_ in expected]

    def the_manager_sees_everything():
        try:
            return [(i.source, i.kind) for i in _timeline(manager, customer).items] == everything
        except grpc.RpcError as exc:  # until leads has learnt the manager heads the rep's department
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return False

    eventually(the_manager_sees_everything, what="the manager sees the rep's customer everywhere")
    with pytest.raises(grpc.RpcError) as exc:
        _timeline(outsider, customer)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
