"""teams' organisation kept by the worker: redelivered or older states change nothing, and approvers and the cost
centre follow people's moves."""

from shangji.samples.v1 import samples_pb2 as pb

from .conftest import count, outbox_types


def test_a_redelivered_user_event_is_handled_once_and_an_older_state_is_ignored(world, worker):
    older = world.org.user_event(world.peer, department=world.team, roles=("sales_rep",), kind="UserUpdated")
    body = world.org.user_event(world.peer, department=world.team, roles=("sales_manager",), kind="UserUpdated")
    before = count("inbox")
    worker.on_user_updated(body)
    worker.on_user_updated(body)
    worker.on_user_updated(older)         # arrives late: the newer state stays
    assert count("inbox") == before + 2
    assert count("org_users", "user_id = :u AND 'sales_manager' = ANY(roles)", u=world.peer) == 1


def test_a_move_changes_the_cost_centre_and_the_approvers_of_new_requests(world):
    world.org.user(world.rep, department=world.sales, kind="UserUpdated")       # promoted into sales itself
    created = world.create(None, ("PUMP", 1))
    assert created.cost_centre == f"departments/{world.sales}"
    assert [s.approver for s in created.approval_steps] == [f"users/{world.director}"]


def test_a_head_change_moves_who_approves(world):
    world.org.department(world.team, parent=world.sales, head=world.peer)
    created = world.create(None, ("PUMP", 1))
    assert [s.approver for s in created.approval_steps] == [f"users/{world.peer}"]
    mine = world.sam(world.peer).ListSampleRequests(pb.ListSampleRequestsRequest(waiting_for_me=True))
    assert [r.name for r in mine.sample_requests] == [created.name]


def test_an_approver_who_leaves_hands_the_waiting_step_to_the_next_one_up(world, worker):
    created = world.create(None, ("PUMP", 1))
    assert [s.approver for s in created.approval_steps] == [f"users/{world.manager}"]
    events_before = outbox_types().count("SampleApprovalRequested")

    body = world.org.user_event(world.manager, department=world.team, roles=("sales_manager",), active=False,
                                kind="UserDeactivated")
    worker.on_user_deactivated(body)
    worker.on_user_deactivated(body)      # redelivered: handled once

    moved = world.get(created.name)
    assert [s.approver for s in moved.approval_steps] == [f"users/{world.director}"]
    assert int(moved.etag) == int(created.etag) + 1
    assert outbox_types().count("SampleApprovalRequested") == events_before + 1
    waiting = world.sam(world.director).ListSampleRequests(pb.ListSampleRequestsRequest(waiting_for_me=True))
    assert [r.name for r in waiting.sample_requests] == [created.name]
    assert world.approve(moved, world.director).state == pb.SampleRequest.APPROVED


def test_the_replacement_never_takes_a_second_step_of_the_same_request(world, worker):
    created = world.create(None, ("PUMP", 20))     # two tiers: manager, then director
    assert [s.approver for s in created.approval_steps] == [f"users/{world.manager}", f"users/{world.director}"]
    worker.on_user_deactivated(world.org.user_event(world.manager, department=world.team, active=False,
                                                    roles=("sales_manager",), kind="UserDeactivated"))
    moved = world.get(created.name)
    assert [s.approver for s in moved.approval_steps] == [f"users/{world.vp}", f"users/{world.director}"]
