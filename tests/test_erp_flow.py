"""Issue 6 end to end, through gRPC only: a sample request approved up the chain becomes one confirmed zero-price
sale in a real trytond, charged to the requester's department on every line, and samples records its number; a won
deal becomes a sale there too, and opportunities records its number (issue 13's customer timeline shows it).

The suite's erp_bridge worker is restarted pointing at the session's trytond (the kit's ``tryton`` fixture)."""

import uuid
from decimal import Decimal

import grpc
import pytest

from erp_bridge.adapters.tryton import TrytonErp
from shangji.erp_bridge.v1 import erp_bridge_pb2, erp_bridge_pb2_grpc
from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2
from shangji.samples.v1 import samples_pb2, samples_pb2_grpc
from shangji.teams.v1 import teams_pb2
from shangji_kit.rpc.client import Caller
from shangji_kit.testing.wait import eventually

# The session's first test that needs trytond builds its template when missing (20-180 s).
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def bridge_on_tryton(suite, tryton):
    worker = suite.process("erp_bridge", "worker")
    worker.env = dict(worker.env, **tryton.environment())
    worker.restart()
    return tryton


def _until_ok(call, what: str):
    def probe():
        try:
            return call()
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION):
                return None
            raise
    return eventually(probe, timeout=30, what=what)


def test_an_approved_sample_request_becomes_one_confirmed_free_sale_in_tryton(
        bridge_on_tryton, suite, admin, new_rep, token_for):
    tryton = bridge_on_tryton
    samples_channel = grpc.insecure_channel(suite.target("samples"))
    bridge_channel = grpc.insecure_channel(suite.target("erp_bridge"))

    def samples_for(rep):
        return Caller(samples_pb2_grpc.SamplesServiceStub(samples_channel), token_for(rep.user.id))

    manager = new_rep("经理")
    south = admin.CreateDepartment(teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
        display_name="华南销售部 erp", head=manager.user.name)))
    rep = new_rep("甲", department=south.name, roles=("sales_rep",))
    ops = new_rep("运营", roles=("sales_ops",))
    code = f"PUMP-{uuid.uuid4().hex[:6]}"

    _until_ok(lambda: samples_for(ops).CreateProduct(samples_pb2.CreateProductRequest(product=samples_pb2.Product(
        code=code, display_name="试用泵", unit_cost="100", currency="CNY", active=True))), "ops known to samples")
    bridge = Caller(erp_bridge_pb2_grpc.ErpBridgeServiceStub(bridge_channel), token_for(ops.user.id))
    _until_ok(lambda: bridge.UpsertProductMapping(erp_bridge_pb2.UpsertProductMappingRequest(
        mapping=erp_bridge_pb2.ProductMapping(name=f"productMappings/{code}", erp_product_code="TRY-SAMPLE-A"))),
        "ops known to erp_bridge")

    deal = rep.opportunities.RegisterOpportunity(opportunities_pb2.RegisterOpportunityRequest(
        opportunity=opportunities_pb2.Opportunity(customer_company="华南精密制造 erp 有限公司",
                                                  product_lines=["pumps"])))
    created = _until_ok(lambda: samples_for(rep).CreateSampleRequest(samples_pb2.CreateSampleRequestRequest(
        request_id=f"erp-{uuid.uuid4()}", sample_request=samples_pb2.SampleRequest(
            opportunity=deal.name, kind=samples_pb2.SampleRequest.STANDARD, recipient_name="王工", address="广州市",
            lines=[samples_pb2.SampleLine(product=code, quantity=2)]))), "the rep's department known")
    approved = samples_for(manager).ApproveSampleRequest(samples_pb2.ApproveSampleRequestRequest(
        name=created.name, etag=created.etag))
    assert approved.state == samples_pb2.SampleRequest.APPROVED

    ordered = eventually(lambda: (r := samples_for(rep).GetSampleRequest(
        samples_pb2.GetSampleRequestRequest(name=created.name))).erp_order_number and r, timeout=60,
        what="samples records the ERP order number")

    erp = TrytonErp(tryton.url, tryton.database, tryton.user, tryton.password)
    sales = erp.call("model.sale.sale.search_read", [("reference", "=", created.name)], 0, None, None,
                     ["number", "state", "total_amount"])
    assert len(sales) == 1
    assert sales[0]["number"] == ordered.erp_order_number
    assert sales[0]["state"] in ("confirmed", "processing") and sales[0]["total_amount"] == Decimal(0)
    lines = erp.call("model.sale.line.search_read", [("sale", "=", sales[0]["id"])], 0, None, None,
                     ["quantity", "unit_price", "analytic_accounts"])
    assert [(x["quantity"], x["unit_price"]) for x in lines] == [(2.0, Decimal(0))]
    entries = erp.call("model.analytic.account.entry.read", lines[0]["analytic_accounts"], ["account"])
    accounts = erp.call("model.analytic_account.account.read", [e["account"] for e in entries], ["code"])
    assert [a["code"] for a in accounts] == [south.name]
    samples_channel.close()
    bridge_channel.close()


def test_a_won_deal_becomes_a_sale_in_tryton_whose_number_shows_on_the_deal_and_the_customer_timeline(
        bridge_on_tryton, suite, admin, new_rep, token_for):
    tryton = bridge_on_tryton
    rep = new_rep("甲", roles=("sales_rep",))
    ops = new_rep("运营", roles=("sales_ops",))
    code = f"MES-{uuid.uuid4().hex[:6]}"
    bridge = Caller(erp_bridge_pb2_grpc.ErpBridgeServiceStub(grpc.insecure_channel(suite.target("erp_bridge"))),
                    token_for(ops.user.id))
    _until_ok(lambda: bridge.UpsertProductMapping(erp_bridge_pb2.UpsertProductMappingRequest(
        mapping=erp_bridge_pb2.ProductMapping(name=f"productMappings/{code}", erp_product_code="TRY-SAMPLE-A"))),
        "ops known to erp_bridge")
    stages = [opportunities_pb2.PipelineStage(key="talk", display_name="洽谈", category="open", probability=20),
              opportunities_pb2.PipelineStage(key="won", display_name="赢单", category="won", probability=100),
              opportunities_pb2.PipelineStage(key="lost", display_name="输单", category="lost", probability=0)]
    pipeline = _until_ok(lambda: ops.opportunities.CreatePipeline(opportunities_pb2.CreatePipelineRequest(
        pipeline=opportunities_pb2.Pipeline(key=f"erp_{uuid.uuid4().hex[:8]}", display_name="ERP 流程",
                                            stages=stages))), "ops known to opportunities")

    lead = rep.new_lead(company=f"华南精密 erp {uuid.uuid4().hex[:6]}")
    customer = rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, without_opportunity=True)).customer
    register = opportunities_pb2.RegisterOpportunityRequest(opportunity=opportunities_pb2.Opportunity(
        title="MES 一期", customer_company=lead.company, product_lines=["MES"], pipeline=pipeline.name,
        customer=customer, currency="CNY",
        quote_lines=[opportunities_pb2.QuoteLine(product=code, quantity="2", unit_price="5000")]))

    def registered():
        try:
            return rep.opportunities.RegisterOpportunity(register)
        except grpc.RpcError as exc:  # until opportunities has learnt the customer from leads' CustomerCreated
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return None

    deal = eventually(registered, what="the customer known to opportunities")
    rep.opportunities.WinOpportunity(opportunities_pb2.WinOpportunityRequest(name=deal.name, amount="10000"))
    number = eventually(lambda: rep.opportunities.GetOpportunity(opportunities_pb2.GetOpportunityRequest(
        name=deal.name)).erp_order_number, timeout=60, what="opportunities records the ERP order number")

    erp = TrytonErp(tryton.url, tryton.database, tryton.user, tryton.password)
    sales = erp.call("model.sale.sale.search_read", [("reference", "=", deal.name)], 0, None, None, ["number"])
    assert [s["number"] for s in sales] == [number]
    items = rep.leads.GetCustomerTimeline(leads_pb2.GetCustomerTimelineRequest(customer=customer)).items
    assert [(i.source, i.kind, i.title) for i in items[:2]] == [
        ("opportunities", "erp_order", f"ERP 订单 {number}: MES 一期"),
        ("opportunities", "opportunity_won", "赢单: MES 一期")]
