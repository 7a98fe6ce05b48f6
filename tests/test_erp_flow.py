"""Issue 6 end to end, through gRPC only: a sample request approved up the chain becomes one confirmed zero-price
sale in a real trytond, charged to the requester's department on every line, and samples records its number.

The suite's erp_bridge worker is restarted pointing at the session's trytond (the kit's ``tryton`` fixture)."""

import uuid
from decimal import Decimal

import grpc
import pytest

from erp_bridge.adapters.tryton import TrytonErp
from shangji.erp_bridge.v1 import erp_bridge_pb2, erp_bridge_pb2_grpc
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
