"""The demo's second half: a sample request on the deal, approved by the rep's manager, becomes a free
sales order in the real Tryton ERP, and its order number comes back to the request.

Called by scripts/demo.py once the deal exists. Re-running is safe: fixed request ids, upserts.
"""

from __future__ import annotations

import time

import grpc

from shangji.erp_bridge.v1 import erp_bridge_pb2, erp_bridge_pb2_grpc
from shangji.samples.v1 import samples_pb2, samples_pb2_grpc
from shangji.teams.v1 import teams_pb2
from shangji_kit.auth import mint_dev_token
from shangji_kit.rpc.client import Caller, channel

# Our sample products and the ERP products they are shipped as (the demo Tryton holds the TRY-* codes).
PRODUCTS = [  # code, name, unit cost (CNY), ERP product code
    ("SMP-KIT-A", "传感器样品套件 A", "120.00", "TRY-SAMPLE-A"),
    ("SMP-SENSOR-7", "7 型压力传感器", "350.00", "TRY-SENSOR-7"),
]
ERP_WAIT_SECONDS = 300  # the first start of the demo ERP builds its template (1-3 minutes)


def step(text: str) -> None:
    print(f"\n==> {text}")


def run(admin_teams: Caller, rep, manager, opportunity) -> None:
    """``admin_teams``: a teams caller with the bootstrap admin token; ``rep`` and ``manager``: teams users
    (the manager heads the rep's department and holds sales_manager); ``opportunity``: the rep's deal."""
    step("teams: 赵敏 joins as sales operations (she runs the sample catalogue and the ERP mappings)")
    ops = admin_teams.CreateUser(teams_pb2.CreateUserRequest(request_id="demo-user-zhaomin", user=teams_pb2.User(
        display_name="赵敏", email="zhaomin@demo.shangji", phone="13800138004", roles=["sales_ops"])))
    print(f"    {ops.display_name}  {ops.name}  {', '.join(ops.roles)}")
    ops_token = mint_dev_token(ops.id)
    samples_ops = Caller(samples_pb2_grpc.SamplesServiceStub(channel("samples")), ops_token)
    bridge_ops = Caller(erp_bridge_pb2_grpc.ErpBridgeServiceStub(channel("erp_bridge")), ops_token)

    step("samples and erp_bridge: the sample catalogue, each product mapped to the ERP's")
    for code, name, cost, erp_code in PRODUCTS:
        product = _when_known(lambda code=code, name=name, cost=cost: _product(samples_ops, code, name, cost))
        _when_known(lambda code=code, erp_code=erp_code: bridge_ops.UpsertProductMapping(
            erp_bridge_pb2.UpsertProductMappingRequest(mapping=erp_bridge_pb2.ProductMapping(
                name=f"productMappings/{code}", erp_product_code=erp_code))))
        print(f"    {product.code:<13} {product.display_name}  {product.unit_cost} {product.currency}"
              f"  -> ERP {erp_code}")

    samples_rep = Caller(samples_pb2_grpc.SamplesServiceStub(channel("samples")), mint_dev_token(rep.id))
    step(f"samples: {rep.display_name} asks for 6 sample units for 「{opportunity.title}」")
    request = _when_known(lambda: samples_rep.CreateSampleRequest(samples_pb2.CreateSampleRequestRequest(
        request_id="demo-sample-1", sample_request=samples_pb2.SampleRequest(
            opportunity=opportunity.name, kind=samples_pb2.SampleRequest.STANDARD, purpose="产线试用验证",
            recipient_name="刘总", recipient_phone="13800138000", address="深圳市南山区科技园 8 栋",
            lines=[samples_pb2.SampleLine(product="SMP-KIT-A", quantity=4),
                   samples_pb2.SampleLine(product="SMP-SENSOR-7", quantity=2)]))))
    print(f"    {request.name}  {request.total_quantity} units, estimated {request.estimated_cost} "
          f"{request.currency}, cost centre {request.cost_centre}")
    for s in request.approval_steps:
        print(f"    approval: {s.tier} by {s.approver} ({samples_pb2.ApprovalStep.Outcome.Name(s.outcome)})")

    samples_manager = Caller(samples_pb2_grpc.SamplesServiceStub(channel("samples")), mint_dev_token(manager.id))
    step(f"samples: {manager.display_name} finds it waiting for him and approves")
    waiting = samples_manager.ListSampleRequests(samples_pb2.ListSampleRequestsRequest(waiting_for_me=True))
    print(f"    waiting for {manager.display_name}: {[r.name for r in waiting.sample_requests] or 'nothing'}")
    if request.state == samples_pb2.SampleRequest.PENDING_APPROVAL:
        request = samples_manager.ApproveSampleRequest(samples_pb2.ApproveSampleRequestRequest(
            name=request.name, comment="同意，尽快安排", etag=request.etag))
    print(f"    {request.name} is {samples_pb2.SampleRequest.State.Name(request.state)}")

    step("erp_bridge -> Tryton: a zero-price sale, quoted and confirmed, charged to the sales department")
    deadline = time.monotonic() + ERP_WAIT_SECONDS
    while time.monotonic() < deadline:
        request = samples_rep.GetSampleRequest(samples_pb2.GetSampleRequestRequest(name=request.name))
        if request.erp_order_number:
            break
        time.sleep(1.0)
    if request.erp_order_number:
        print(f"    ERP order {request.erp_order_number} confirmed; {request.name} is "
              f"{samples_pb2.SampleRequest.State.Name(request.state)}")
    else:
        print(f"    no ERP order yet after {ERP_WAIT_SECONDS}s (is the ERP up? `make status`); the bridge keeps "
              "retrying and the request records the order when it lands")


def _product(samples_ops: Caller, code: str, name: str, cost: str):
    try:
        return samples_ops.CreateProduct(samples_pb2.CreateProductRequest(product=samples_pb2.Product(
            code=code, display_name=name, unit_cost=cost, currency="CNY", active=True)))
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
        listed = samples_ops.ListProducts(samples_pb2.ListProductsRequest(page_size=200)).products
        return next(p for p in listed if p.code == code)


def _when_known(call, timeout: float = 20.0):
    """Retry while a service has not yet heard of a user from teams' events (PERMISSION_DENIED,
    FAILED_PRECONDITION) or a deal is still being registered (NOT_FOUND)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except grpc.RpcError as exc:
            retryable = exc.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND,
                                       grpc.StatusCode.FAILED_PRECONDITION)
            if not retryable or time.monotonic() > deadline:
                raise
            time.sleep(0.3)
