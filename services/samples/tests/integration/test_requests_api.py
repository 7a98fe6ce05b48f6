"""CreateSampleRequest, the approval tiers and the decisions, through the front against real PostgreSQL and a
real opportunities front."""

import uuid

import grpc
import pytest

from shangji.samples.v1 import samples_pb2 as pb

from .conftest import count, outbox_types, reason, violations

S = pb.SampleRequest
STEP = pb.ApprovalStep


def test_a_small_request_needs_the_manager_only_and_copies_the_deal(world):
    deal = world.deal()
    created = world.create(deal, ("PUMP", 2), ("VALVE", 1))
    assert created.state == S.PENDING_APPROVAL
    assert created.customer_company == deal.customer_company
    assert created.requester == f"users/{world.rep}"
    assert created.cost_centre == f"departments/{world.team}"
    assert (created.total_quantity, created.estimated_cost, created.currency) == (3, "1200", "CNY")
    assert [(s.tier, s.approver, s.outcome) for s in created.approval_steps] == [
        ("sales_manager", f"users/{world.manager}", STEP.WAITING)]
    assert [ln.unit_cost for ln in created.lines] == ["100", "1000"]
    assert outbox_types() == ["SampleRequestSubmitted", "SampleApprovalRequested"]
    assert world.get(created.name) == created


@pytest.mark.parametrize(("lines", "tiers"), [
    ([("PUMP", 10)], ["sales_manager"]),                                   # 10 units, 1,000: the manager
    ([("VALVE", 5)], ["sales_manager"]),                                   # 5,000 exactly: still the manager
    ([("PUMP", 11)], ["sales_manager", "sales_director"]),                 # 11 units
    ([("VALVE", 5), ("PUMP", 1)], ["sales_manager", "sales_director"]),    # 5,100 over the manager's cost
    ([("PUMP", 100)], ["sales_manager", "sales_director"]),                # 100 units, 10,000
    ([("VALVE", 50)], ["sales_manager", "sales_director"]),                # 50,000 exactly
    ([("PUMP", 101)], ["sales_manager", "sales_director", "vp"]),          # 101 units
    ([("VALVE", 50), ("PUMP", 1)], ["sales_manager", "sales_director", "vp"]),  # 50,100
])
def test_each_tier_boundary_picks_the_approvers_up_the_chain(world, lines, tiers):
    created = world.create(None, *lines)
    approvers = {"sales_manager": world.manager, "sales_director": world.director, "vp": world.vp}
    assert [(s.tier, s.approver) for s in created.approval_steps] == [(t, f"users/{approvers[t]}") for t in tiers]


def test_tiers_are_approved_in_order_and_the_last_approval_is_announced(world):
    created = world.create(None, ("PUMP", 101))
    waiting = world.sam(world.director).ListSampleRequests(pb.ListSampleRequestsRequest(waiting_for_me=True))
    assert list(waiting.sample_requests) == []      # not the director's turn yet
    one = world.approve(created, world.manager, "可以")
    assert [s.outcome for s in one.approval_steps] == [STEP.APPROVED, STEP.WAITING, STEP.WAITING]
    assert one.approval_steps[0].comment == "可以" and one.approval_steps[0].HasField("decide_time")
    waiting = world.sam(world.director).ListSampleRequests(pb.ListSampleRequestsRequest(waiting_for_me=True))
    assert [r.name for r in waiting.sample_requests] == [created.name]
    two = world.approve(one, world.director)
    three = world.approve(two, world.vp)
    assert three.state == S.APPROVED
    assert outbox_types() == ["SampleRequestSubmitted", "SampleApprovalRequested", "SampleApprovalRequested",
                              "SampleApprovalRequested", "SampleRequestApproved"]
    assert world.get(created.name).state == S.APPROVED


def test_someone_who_sees_the_request_but_is_not_its_current_approver_is_refused(world):
    created = world.create(None, ("PUMP", 11))
    for outsider in (world.director, world.ops):       # above the manager / sales ops: they see it, not their turn
        with pytest.raises(grpc.RpcError) as exc:
            world.approve(created, outsider)
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED and reason(exc.value) == "NOT_THE_APPROVER"
    with pytest.raises(grpc.RpcError) as exc:          # a manager of another team does not see it at all
        world.approve(created, world.other_manager)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert world.get(created.name) == created
    assert outbox_types() == ["SampleRequestSubmitted", "SampleApprovalRequested"]


def test_approving_twice_is_a_failed_precondition(world):
    created = world.create(None, ("PUMP", 11))
    once = world.approve(created, world.manager)
    with pytest.raises(grpc.RpcError) as exc:
        world.approve(once, world.manager)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(exc.value) == "STEP_ALREADY_DECIDED"
    done = world.approve(once, world.director)
    with pytest.raises(grpc.RpcError) as exc:
        world.approve(done, world.director)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(exc.value) == "NOT_PENDING_APPROVAL"
    assert world.get(created.name) == done


def test_a_stale_etag_is_aborted_and_changes_nothing(world):
    created = world.create(None, ("PUMP", 1))
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.manager).ApproveSampleRequest(pb.ApproveSampleRequestRequest(name=created.name, etag="99"))
    assert exc.value.code() == grpc.StatusCode.ABORTED
    assert world.get(created.name).state == S.PENDING_APPROVAL


def test_a_rejection_ends_the_request(world):
    created = world.create(None, ("PUMP", 11))
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.manager).RejectSampleRequest(pb.RejectSampleRequestRequest(name=created.name))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and violations(exc.value) == ["comment"]
    rejected = world.sam(world.manager).RejectSampleRequest(pb.RejectSampleRequestRequest(
        name=created.name, comment="数量太多", etag=created.etag))
    assert rejected.state == S.REJECTED
    assert [s.outcome for s in rejected.approval_steps] == [STEP.REJECTED, STEP.WAITING]
    assert rejected.approval_steps[0].comment == "数量太多"
    with pytest.raises(grpc.RpcError) as exc:
        world.approve(rejected, world.director)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert outbox_types()[-1] == "SampleRequestRejected"


def test_withdrawal_by_the_requester_before_the_last_approval_only(world):
    created = world.create(None, ("PUMP", 11))
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.manager).WithdrawSampleRequest(pb.WithdrawSampleRequestRequest(name=created.name))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    once = world.approve(created, world.manager)
    withdrawn = world.sam(world.rep).WithdrawSampleRequest(pb.WithdrawSampleRequestRequest(
        name=created.name, reason="客户不需要了", etag=once.etag))
    assert withdrawn.state == S.WITHDRAWN
    assert outbox_types()[-1] == "SampleRequestWithdrawn"

    approved = world.approve(world.create(None, ("PUMP", 1)), world.manager)
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.rep).WithdrawSampleRequest(pb.WithdrawSampleRequestRequest(name=approved.name))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(exc.value) == "NOT_PENDING_APPROVAL"
    assert world.get(approved.name).state == S.APPROVED


# --- bad input: a precise error, nothing written ----------------------------------------------------

def _nothing_written() -> None:
    assert count("sample_requests") == 0
    assert outbox_types() == []


@pytest.mark.parametrize("quantity", [0, -5])
def test_quantities_that_are_not_positive_are_named(world, quantity):
    deal = world.deal()
    with pytest.raises(grpc.RpcError) as exc:
        world.create(deal, ("PUMP", 1), ("VALVE", quantity))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc.value) == ["sample_request.lines[1].quantity"]
    _nothing_written()


def test_unknown_and_inactive_products_are_named(world):
    deal = world.deal()
    with pytest.raises(grpc.RpcError) as exc:
        world.create(deal, ("NO-SUCH", 1), ("PUMP", 1), ("RETIRED", 1))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc.value) == ["sample_request.lines[0].product", "sample_request.lines[2].product"]
    _nothing_written()


def test_an_opportunity_the_requester_cannot_see_is_not_found(world):
    others = world.deal(world.other_manager)          # another team's deal: opportunities hides it from the rep
    with pytest.raises(grpc.RpcError) as exc:
        world.create(others.name, ("PUMP", 1))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert "opportunity" in exc.value.details()
    with pytest.raises(grpc.RpcError) as exc:
        world.create(f"opportunities/{uuid.uuid4()}", ("PUMP", 1))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    _nothing_written()


def test_a_request_on_a_lost_opportunity_is_refused(world):
    lost = world.lost_deal()
    with pytest.raises(grpc.RpcError) as exc:
        world.create(lost.name, ("PUMP", 1))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(exc.value) == "OPPORTUNITY_LOST"
    _nothing_written()


def test_opportunities_down_is_unavailable(world, monkeypatch):
    from shangji_kit.testing.processes import free_port

    monkeypatch.setenv("SHANGJI_OPPORTUNITIES_GRPC_PORT", str(free_port()))
    with pytest.raises(grpc.RpcError) as exc:
        world.create(f"opportunities/{uuid.uuid4()}", ("PUMP", 1))
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
    _nothing_written()


def test_missing_fields_and_a_malformed_opportunity_are_named(world):
    with pytest.raises(grpc.RpcError) as exc:
        world.create("deals/1", ("PUMP", 1))
    assert violations(exc.value) == ["sample_request.opportunity"]
    deal = world.deal()
    with pytest.raises(grpc.RpcError) as exc:
        world.create(deal, ("PUMP", 1), kind=S.KIND_UNSPECIFIED, address="", wanted_by_date="2001-01-01")
    assert set(violations(exc.value)) == {"sample_request.kind", "sample_request.address",
                                          "sample_request.wanted_by_date"}
    _nothing_written()


def test_no_approver_for_a_needed_tier_refuses_the_request(world):
    # The VP leaves: a 101-unit request has nobody for its last tier.
    world.org.user(world.vp, department=world.company, active=False, kind="UserDeactivated")
    with pytest.raises(grpc.RpcError) as exc:
        world.create(None, ("PUMP", 101))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(exc.value) == "NO_APPROVER"
    _nothing_written()
    assert world.create(None, ("PUMP", 1)).state == S.PENDING_APPROVAL    # smaller requests still work


def test_a_retry_with_the_same_request_id_returns_the_first_result(world):
    deal = world.deal()
    first = world.create(deal, ("PUMP", 1), request_id="req-1")
    again = world.create(deal, ("PUMP", 1), request_id="req-1")
    assert again == first
    assert count("sample_requests") == 1
    assert outbox_types() == ["SampleRequestSubmitted", "SampleApprovalRequested"]


# --- who sees what --------------------------------------------------------------------------------

def test_requesters_approvers_managers_and_ops_see_a_request_others_do_not(world):
    created = world.create(None, ("PUMP", 1))
    for viewer in (world.rep, world.manager, world.director, world.vp, world.ops):
        assert world.get(created.name, viewer).name == created.name
    for outsider in (world.peer, world.other_manager, world.engineer):
        with pytest.raises(grpc.RpcError) as exc:
            world.get(created.name, outsider)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
        listed = world.sam(outsider).ListSampleRequests(pb.ListSampleRequestsRequest())
        assert list(listed.sample_requests) == []


def test_lists_page_newest_first_and_filter_by_opportunity(world):
    deal = world.deal()
    made = [world.create(deal, ("PUMP", 1)) for _ in range(3)]
    world.create(None, ("PUMP", 1))
    first = world.sam(world.rep).ListSampleRequests(pb.ListSampleRequestsRequest(page_size=2,
                                                                                 opportunity=deal.name))
    second = world.sam(world.rep).ListSampleRequests(pb.ListSampleRequestsRequest(
        page_size=2, opportunity=deal.name, page_token=first.next_page_token))
    names = [r.name for r in first.sample_requests] + [r.name for r in second.sample_requests]
    assert names == [r.name for r in reversed(made)] and second.next_page_token == ""
    mine = world.sam(world.manager).ListSampleRequests(pb.ListSampleRequestsRequest(waiting_for_me=True))
    assert len(mine.sample_requests) == 4


# --- concurrency ----------------------------------------------------------------------------------

def _race(calls) -> list:
    """Run the calls at once (a barrier releases them together); each result or the RpcError it raised."""
    import threading

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except grpc.RpcError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_concurrent_decisions_on_one_step_only_one_wins(world):
    created = world.create(None, ("PUMP", 11))
    results = _race([lambda: world.approve(created, world.manager),
                     lambda: world.sam(world.manager).RejectSampleRequest(pb.RejectSampleRequestRequest(
                         name=created.name, comment="不行", etag=created.etag))])
    won = [r for r in results if isinstance(r, pb.SampleRequest)]
    lost = [r for r in results if isinstance(r, grpc.RpcError)]
    assert len(won) == 1 and len(lost) == 1 and lost[0].code() == grpc.StatusCode.ABORTED
    assert world.get(created.name) == won[0]
    assert len(outbox_types()) == 3          # submitted, approval requested, and the winner's one event


def test_concurrent_retries_with_one_request_id_create_one_request(world):
    deal = world.deal()
    results = _race([lambda: world.create(deal, ("PUMP", 1), request_id="same") for _ in range(4)])
    assert all(isinstance(r, pb.SampleRequest) for r in results)
    assert len({r.name for r in results}) == 1
    assert count("sample_requests") == 1
    assert outbox_types() == ["SampleRequestSubmitted", "SampleApprovalRequested"]
