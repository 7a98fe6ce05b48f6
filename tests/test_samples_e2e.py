"""A sample request across the suite, through gRPC only: teams' organisation reaches samples by events, the deal
is checked with opportunities under the requester's own token, and the tiers are approved up the chain."""

import grpc
import pytest

from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2
from shangji.samples.v1 import samples_pb2, samples_pb2_grpc
from shangji.teams.v1 import teams_pb2
from shangji_kit.rpc.client import Caller
from shangji_kit.testing.wait import eventually


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


def test_a_request_is_approved_by_the_manager_then_the_director(admin, new_rep, samples_for):
    director = new_rep("总监")
    manager = new_rep("经理")
    centre = admin.CreateDepartment(teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
        display_name="销售中心", head=director.user.name)))
    south = admin.CreateDepartment(teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
        display_name="华南销售部", parent=centre.name, head=manager.user.name)))
    rep = new_rep("甲", department=south.name, roles=("sales_rep",))
    ops = new_rep("运营", roles=("sales_ops",))
    outsider = new_rep("丙", roles=("sales_rep",))

    _until_ok(lambda: samples_for(ops).CreateProduct(samples_pb2.CreateProductRequest(product=samples_pb2.Product(
        code="PUMP-E2E", display_name="试用泵", unit_cost="100", currency="CNY", active=True))),
        "sales ops known to samples")
    deal = rep.opportunities.RegisterOpportunity(opportunities_pb2.RegisterOpportunityRequest(
        opportunity=opportunities_pb2.Opportunity(customer_company="华南精密制造 e2e 有限公司",
                                                  product_lines=["pumps"])))
    request = samples_pb2.CreateSampleRequestRequest(request_id="e2e-1", sample_request=samples_pb2.SampleRequest(
        opportunity=deal.name, kind=samples_pb2.SampleRequest.STANDARD, recipient_name="王工", address="广州市",
        lines=[samples_pb2.SampleLine(product="PUMP-E2E", quantity=11)]))
    created = _until_ok(lambda: samples_for(rep).CreateSampleRequest(request), "the rep's department known")
    assert created.customer_company == deal.customer_company and created.cost_centre == south.name
    assert [s.approver for s in created.approval_steps] == [manager.user.name, director.user.name]

    with pytest.raises(grpc.RpcError) as exc:      # another rep's deal is not theirs to ask samples for
        samples_for(outsider).CreateSampleRequest(samples_pb2.CreateSampleRequestRequest(
            sample_request=samples_pb2.SampleRequest(opportunity=deal.name, kind=samples_pb2.SampleRequest.POC,
                                                     recipient_name="x", address="y",
                                                     lines=[samples_pb2.SampleLine(product="PUMP-E2E", quantity=1)])))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND

    waiting = samples_for(manager).ListSampleRequests(samples_pb2.ListSampleRequestsRequest(waiting_for_me=True))
    assert [r.name for r in waiting.sample_requests] == [created.name]
    step = samples_for(manager).ApproveSampleRequest(samples_pb2.ApproveSampleRequestRequest(
        name=created.name, comment="同意", etag=created.etag))
    done = samples_for(director).ApproveSampleRequest(samples_pb2.ApproveSampleRequestRequest(
        name=created.name, etag=step.etag))
    assert done.state == samples_pb2.SampleRequest.APPROVED
    assert samples_for(rep).GetSampleRequest(samples_pb2.GetSampleRequestRequest(name=created.name)) == done


def test_a_handover_takes_the_leavers_open_requests_and_leads_with_it(admin, new_rep, samples_for):
    """Issue 13: teams' transfer moves the leaver's lead (with a handover in its history) and open sample request;
    the successor then sees the request and hears of its approval."""
    manager = new_rep("经理")
    team = admin.CreateDepartment(teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
        display_name="华东销售部", head=manager.user.name)))
    leaver = new_rep("离职", department=team.name, roles=("sales_rep",))
    successor = new_rep("接手", department=team.name, roles=("sales_rep",))
    ops = new_rep("运营", roles=("sales_ops",))
    _until_ok(lambda: samples_for(ops).CreateProduct(samples_pb2.CreateProductRequest(product=samples_pb2.Product(
        code="VALVE-E2E", display_name="试用阀", unit_cost="50", currency="CNY", active=True))),
        "sales ops known to samples")
    lead = leaver.new_lead()
    deal = leaver.opportunities.RegisterOpportunity(opportunities_pb2.RegisterOpportunityRequest(
        opportunity=opportunities_pb2.Opportunity(customer_company="华东交接精密 e2e 有限公司",
                                                  product_lines=["valves"])))
    created = _until_ok(lambda: samples_for(leaver).CreateSampleRequest(samples_pb2.CreateSampleRequestRequest(
        sample_request=samples_pb2.SampleRequest(opportunity=deal.name, kind=samples_pb2.SampleRequest.STANDARD,
                                                 recipient_name="赵工", address="杭州市",
                                                 lines=[samples_pb2.SampleLine(product="VALVE-E2E", quantity=2)]))),
        "the leaver's department known")
    assert created.owner == leaver.user.name

    admin.TransferOwnership(teams_pb2.TransferOwnershipRequest(from_user=leaver.user.name,
                                                               to_user=successor.user.name))
    # A teammate, not the leaver's manager: the successor sees the request once it is theirs.
    moved = eventually(lambda: _seen_by(samples_for(successor), created.name),
                       what="the request handed to the successor")
    assert (moved.owner, moved.requester) == (successor.user.name, leaver.user.name)
    eventually(lambda: _lead_moved(successor, lead), what="the lead handed to the successor")
    history = successor.leads.ListLeadAssignments(leads_pb2.ListLeadAssignmentsRequest(parent=lead.name)).assignments
    assert [(a.kind, a.previous_owner, a.new_owner, a.actor) for a in history] == [
        ("handover", leaver.user.name, successor.user.name, ""), ("create", "", leaver.user.name, leaver.user.name)]

    samples_for(manager).ApproveSampleRequest(samples_pb2.ApproveSampleRequestRequest(name=created.name))
    eventually(lambda: any(n.title == "样品申请已批准" for n in successor.inbox()),
               what="the successor told of the approval")


def _seen_by(caller, name: str) -> samples_pb2.SampleRequest | None:
    try:
        request = caller.GetSampleRequest(samples_pb2.GetSampleRequestRequest(name=name))
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise
    return request if request.owner else None


def _lead_moved(rep, lead) -> bool:
    try:
        return rep.leads.GetLead(leads_pb2.GetLeadRequest(name=lead.name)).owner == rep.user.name
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
