"""A deal's audit trail (ListOpportunityChanges, OpportunityChanged), ReassignOpportunity and the tasks that move
with a reassignment or a handover, through the in-process front and the worker on the real database."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit import company_time
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.calls import fails

CLOSE = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
SOON = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
ALL_ITEMS = ["need_confirmed", "budget_confirmed", "requirements_documented", "solution_presented",
             "decision_maker_met", "competition_analysed", "quote_sent", "contract_reviewed"]


def update(caller, name, etag="", **fields) -> pb.Opportunity:
    return caller.UpdateOpportunity(pb.UpdateOpportunityRequest(
        opportunity=pb.Opportunity(name=name, **fields), update_mask=FieldMask(paths=list(fields)), etag=etag))


def trail(caller, name, page_size=0) -> list[pb.OpportunityChange]:
    """Every entry, page by page, newest first."""
    entries, token = [], ""
    while True:
        page = caller.ListOpportunityChanges(pb.ListOpportunityChangesRequest(parent=name, page_size=page_size,
                                                                              page_token=token))
        entries.extend(page.changes)
        token = page.next_page_token
        if not token:
            return entries


def fields(change: pb.OpportunityChange) -> list[tuple[str, str, str]]:
    return [(f.field, f.old_value, f.new_value) for f in change.changes]


def deal_id(name: str) -> str:
    return name.split("/")[1]


def test_an_update_records_who_when_and_the_exact_old_and_new_values_and_emits_the_entry(as_user, register,
                                                                                          scalar):
    owner = str(uuid.uuid4())
    rep, name = as_user(owner), register(owner)
    title = rep.GetOpportunity(pb.GetOpportunityRequest(name=name)).title  # the converted lead's company
    before = datetime.now(UTC)
    update(rep, name, title="华东精密 二期", amount="120000.5", currency="cny", product_lines=["ERP", "MES, 扩展"])
    (entry,) = trail(rep, name)
    assert (entry.kind, entry.actor, entry.reason) == ("update", f"users/{owner}", "")
    assert entry.name.startswith(f"{name}/changes/")
    assert entry.change_time.ToDatetime(tzinfo=UTC) >= before - timedelta(seconds=1)
    assert fields(entry) == [("title", title, "华东精密 二期"), ("amount", "", "120000.50"),
                             ("currency", "", "CNY"), ("product_lines", "", '["ERP", "MES, 扩展"]')]
    # The same record as an event, in the outbox of the same transaction; the deal's own events are not disturbed.
    data = scalar("SELECT data FROM outbox WHERE subject = :s AND type = 'shangji.opportunities.v1.OpportunityChanged'",
                  s=entry.name)
    assert data["opportunity"] == name
    assert data["change"]["name"] == entry.name and data["change"]["kind"] == "update"
    assert data["change"]["changes"][1] == {"field": "amount", "newValue": "120000.50"}
    assert scalar("SELECT count(*) FROM outbox WHERE subject = :s", s=name) == 1  # OpportunityRegistered only
    # An update that changes nothing records nothing.
    update(rep, name, currency="CNY")
    assert len(trail(rep, name)) == 1


def test_stage_moves_and_the_win_are_recorded_newest_first_and_paged(as_user, register):
    owner = str(uuid.uuid4())
    rep, name = as_user(owner), register(owner)
    # The shipped pipeline leaves 确定决策者 with a decision maker in the deal's chain.
    rep.AddDecisionChainContact(pb.AddDecisionChainContactRequest(parent=name, contact=pb.DealContact(
        display_name="周总", buying_role="decision_maker")))
    deal = update(rep, name, expected_close_date=CLOSE, amount="120000.00", currency="CNY", product_lines=["ERP"],
                  checklist=ALL_ITEMS)
    for _ in range(7):
        deal = rep.AdvanceStage(pb.AdvanceStageRequest(name=name, etag=deal.etag))
    deal = rep.WinOpportunity(pb.WinOpportunityRequest(name=name, etag=deal.etag, amount="150000.50"))
    back = rep.ReopenOpportunity(pb.ReopenOpportunityRequest(name=name, etag=deal.etag, reason="客户追加需求"))
    entries = trail(rep, name, page_size=4)
    assert [e.kind for e in entries] == ["reopen", "win", *["stage"] * 7, "update"]
    assert len({e.name for e in entries}) == 10
    times = [e.change_time.ToDatetime() for e in entries]
    assert times == sorted(times, reverse=True)
    reopen, win, last_move = entries[0], entries[1], entries[2]
    today = company_time.today(datetime.now(UTC)).isoformat()
    assert fields(win) == [("stage", "negotiation", "won"), ("amount", "120000.00", "150000.50"),
                           ("probability", "80", "100"), ("win_date", "", today)]
    assert fields(last_move) == [("stage", "proposal", "negotiation"), ("probability", "60", "80")]
    assert fields(entries[-2]) == [("stage", "discover", "validate"), ("probability", "5", "10")]
    assert (reopen.reason, back.stage) == ("客户追加需求", "negotiation")
    assert fields(reopen) == [("stage", "won", "negotiation"), ("probability", "100", "80"), ("win_date", today, "")]
    # Pages of 4 are the same entries as one page of 50.
    assert [e.name for e in trail(rep, name)] == [e.name for e in entries]
    first = rep.ListOpportunityChanges(pb.ListOpportunityChangesRequest(parent=name, page_size=4))
    assert len(first.changes) == 4 and first.next_page_token


def test_the_trail_is_not_found_for_whoever_may_not_open_the_deal(as_user, register, org):
    owner, member = org.user(), org.user()
    name = register(owner)
    org.add_member(name, member)
    update(as_user(owner), name, amount="10")
    assert len(trail(as_user(member), name)) == 1  # a team member may open the deal, so may read its trail
    for caller, parent in ((as_user(str(uuid.uuid4())), name), (as_user(owner), f"opportunities/{uuid.uuid4()}")):
        refused = fails(caller.ListOpportunityChanges, pb.ListOpportunityChangesRequest(parent=parent))
        assert refused.code() == grpc.StatusCode.NOT_FOUND
    for request, field in ((pb.ListOpportunityChangesRequest(parent="deals/1"), "parent"),
                           (pb.ListOpportunityChangesRequest(parent=name, page_size=-1), "page_size"),
                           (pb.ListOpportunityChangesRequest(parent=name, page_token="nonsense"), "page_token")):
        refused = fails(as_user(owner).ListOpportunityChanges, request)
        assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert details_of(refused)["fields"] == [field]


@pytest.fixture
def company(org):
    """A department tree: top (head ``boss``) above sales (head ``manager``) with reps ``owner`` and ``peer``; a
    ``stranger`` heading a department elsewhere; ``ops`` (sales_ops), ``admin``, and people who may not own deals."""
    people = {"boss": org.user(roles=("sales_manager",)), "manager": org.user(roles=("sales_manager",)),
              "stranger": org.user(roles=("sales_manager",))}
    top = org.department(head=people["boss"])
    sales = org.department(parent=top, head=people["manager"])
    elsewhere = org.department(head=people["stranger"])
    for who, dept in (("boss", top), ("manager", sales), ("stranger", elsewhere)):
        org.user(people[who], kind="UserUpdated", department=dept, roles=("sales_manager",))
    people.update(owner=org.user(department=sales), peer=org.user(department=sales),
                  member=org.user(department=sales), ops=org.user(roles=("sales_ops",)),
                  admin=org.user(roles=("admin",)), presales=org.user(department=sales, roles=("presales",)),
                  gone=org.user(department=sales))
    org.user(people["gone"], kind="UserDeactivated", department=sales)
    return people


def reassign(caller, name, new_owner, etag="", reason="") -> pb.Opportunity:
    return caller.ReassignOpportunity(pb.ReassignOpportunityRequest(name=name, new_owner=f"users/{new_owner}",
                                                                    etag=etag, reason=reason))


@pytest.mark.parametrize("who, code", [
    ("manager", None), ("boss", None), ("ops", None), ("admin", None),
    ("owner", grpc.StatusCode.PERMISSION_DENIED), ("member", grpc.StatusCode.PERMISSION_DENIED),
    ("stranger", grpc.StatusCode.NOT_FOUND), ("peer", grpc.StatusCode.NOT_FOUND),
])
def test_who_may_reassign_a_deal(as_user, register, org, company, scalar, who, code):
    name = register(company["owner"])
    org.add_member(name, company["member"], can_edit=True)
    if code is None:
        deal = reassign(as_user(company[who]), name, company["peer"], reason="客户要求换人")
        assert (deal.owner, deal.etag) == (f"users/{company['peer']}", "2")
    else:
        refused = fails(as_user(company[who]).ReassignOpportunity, pb.ReassignOpportunityRequest(
            name=name, new_owner=f"users/{company['peer']}"))
        assert refused.code() == code
        assert scalar("SELECT owner_id::text || version FROM opportunities WHERE id = :i", i=deal_id(name)) == \
            f"{company['owner']}1"
        assert scalar("SELECT count(*) FROM opportunity_changes WHERE opportunity_id = :i", i=deal_id(name)) == 0


def test_a_refused_reassignment_says_why_and_changes_nothing(as_user, register, company, execute, scalar):
    manager = as_user(company["manager"])
    name = register(company["owner"])
    cases = [
        (company["owner"], "", grpc.StatusCode.FAILED_PRECONDITION, "SAME_OWNER"),
        (company["gone"], "", grpc.StatusCode.FAILED_PRECONDITION, "NEW_OWNER_NOT_SALES_USER"),
        (company["presales"], "", grpc.StatusCode.FAILED_PRECONDITION, "NEW_OWNER_NOT_SALES_USER"),
        (str(uuid.uuid4()), "", grpc.StatusCode.INVALID_ARGUMENT, None),
        (company["peer"], "7", grpc.StatusCode.ABORTED, None),
    ]
    for new_owner, etag, code, reason in cases:
        refused = fails(manager.ReassignOpportunity, pb.ReassignOpportunityRequest(
            name=name, new_owner=f"users/{new_owner}", etag=etag))
        assert refused.code() == code, new_owner
        if reason:
            assert details_of(refused)["reason"] == reason
    refused = fails(manager.ReassignOpportunity, pb.ReassignOpportunityRequest(name=name, new_owner="people/1"))
    assert details_of(refused)["fields"] == ["new_owner"]
    long_reason = fails(manager.ReassignOpportunity, pb.ReassignOpportunityRequest(
        name=name, new_owner=f"users/{company['peer']}", reason="换" * 20_001))  # the kit's length of a note
    assert (long_reason.code(), details_of(long_reason)["fields"]) == (grpc.StatusCode.INVALID_ARGUMENT, ["reason"])
    for state in ("pending_arbitration", "rejected"):
        execute("UPDATE opportunities SET registration_state = :s WHERE id = :i", s=state, i=deal_id(name))
        refused = fails(manager.ReassignOpportunity, pb.ReassignOpportunityRequest(
            name=name, new_owner=f"users/{company['peer']}"))
        assert (refused.code(), details_of(refused)["reason"]) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                                 "REGISTRATION_NOT_ACTIVE")
    assert scalar("SELECT version FROM opportunities WHERE id = :i", i=deal_id(name)) == 1
    assert scalar("SELECT count(*) FROM opportunity_changes WHERE opportunity_id = :i", i=deal_id(name)) == 0
    assert scalar("SELECT count(*) FROM outbox WHERE subject LIKE :s", s=f"{name}%") == 1  # its registration


def test_a_manager_reassigns_within_their_tree_and_sales_ops_anywhere(as_user, register, company, scalar):
    name = register(company["owner"])
    across = fails(as_user(company["manager"]).ReassignOpportunity, pb.ReassignOpportunityRequest(
        name=name, new_owner=f"users/{company['stranger']}"))
    assert (across.code(), details_of(across)["reason"]) == (grpc.StatusCode.PERMISSION_DENIED, "ASSIGNEE_NOT_MANAGED")
    assert scalar("SELECT owner_id::text FROM opportunities WHERE id = :i", i=deal_id(name)) == company["owner"]
    # to themself, then sales ops moves it to the other department
    mine = reassign(as_user(company["manager"]), name, company["manager"])
    assert mine.owner == f"users/{company['manager']}"
    moved = reassign(as_user(company["ops"]), name, company["stranger"], etag=mine.etag, reason="区域调整")
    assert moved.owner == f"users/{company['stranger']}"


def _task(caller, name, assignee) -> pb.Task:
    return caller.CreateTask(pb.CreateTaskRequest(parent=name, task=pb.Task(title="回访客户", due_date=SOON,
                                                                            assignee=f"users/{assignee}")))


def _assignees(scalar, name) -> dict[str, tuple[str, str]]:
    """Task name -> (assignee id, status) of the deal's tasks."""
    rows = scalar("SELECT json_object_agg(id, json_build_array(assignee_id, status)) FROM tasks "
                  "WHERE opportunity_id = :i", i=deal_id(name))
    return {f"{name}/tasks/{k}": tuple(v) for k, v in rows.items()}


def test_a_reassignment_moves_the_previous_owners_open_tasks_and_is_recorded_and_announced(
        as_user, register, company, scalar):
    owner, peer, member = company["owner"], company["peer"], company["member"]
    rep = as_user(owner)
    name = register(owner)
    open_task, done_task, members_task = _task(rep, name, owner), _task(rep, name, owner), _task(rep, name, member)
    rep.CompleteTask(pb.CompleteTaskRequest(name=done_task.name))
    other_deal = register(owner)
    elsewhere = _task(rep, other_deal, owner)
    deal = reassign(as_user(company["manager"]), name, peer, etag="1", reason=" 客户要求换人 ")
    assert (deal.owner, deal.registrant, deal.etag) == (f"users/{peer}", f"users/{owner}", "2")
    tasks = _assignees(scalar, name)
    assert tasks[open_task.name] == (peer, "open")
    assert tasks[done_task.name] == (owner, "done")
    assert tasks[members_task.name] == (member, "open")
    assert _assignees(scalar, other_deal)[elsewhere.name] == (owner, "open")
    (entry,) = trail(as_user(peer), name)
    assert (entry.kind, entry.actor, entry.reason) == ("reassign", f"users/{company['manager']}", "客户要求换人")
    assert fields(entry) == [("owner", f"users/{owner}", f"users/{peer}")]
    event = scalar("SELECT data FROM outbox WHERE subject = :s AND type = "
                   "'shangji.opportunities.v1.OpportunityReassigned'", s=name)
    assert (event["previousOwner"], event["newOwner"], event["actor"], event["reason"]) == (
        f"users/{owner}", f"users/{peer}", f"users/{company['manager']}", "客户要求换人")
    assert event["opportunity"]["owner"] == f"users/{peer}" and event["changeTime"]
    changed = scalar("SELECT data FROM outbox WHERE subject = :s", s=entry.name)
    assert changed["change"]["kind"] == "reassign" and changed["opportunity"] == name
    # The previous owner no longer sees it (not on its team); the new one does.
    assert fails(rep.GetOpportunity, pb.GetOpportunityRequest(name=name)).code() == grpc.StatusCode.NOT_FOUND


def test_a_handover_moves_the_leavers_open_tasks_and_records_a_handover_entry(as_user, register, org, worker,
                                                                           execute, scalar):
    leaver, successor, helper = org.user(), org.user(), org.user()
    rep = as_user(leaver)
    moving, won = register(leaver), register(leaver)
    mine, helpers = _task(rep, moving, leaver), _task(rep, moving, helper)
    on_won = _task(rep, won, leaver)
    execute("UPDATE opportunities SET stage_key = 'won' WHERE id = :i", i=deal_id(won))
    worker.on_ownership_transferred(org.transfer_event(leaver, successor, transfer_id="xfer-audit"))
    assert _assignees(scalar, moving)[mine.name] == (successor, "open")
    assert _assignees(scalar, moving)[helpers.name] == (helper, "open")
    assert _assignees(scalar, won)[on_won.name] == (leaver, "open")  # won deals stay, and so do their tasks
    (entry,) = trail(as_user(successor), moving)
    assert (entry.kind, entry.actor, entry.reason) == ("handover", "", "ownership transfer xfer-audit")
    assert fields(entry) == [("owner", f"users/{leaver}", f"users/{successor}")]
    assert scalar("SELECT data->'change'->>'kind' FROM outbox WHERE subject = :s", s=entry.name) == "handover"
    assert scalar("SELECT count(*) FROM opportunity_changes WHERE opportunity_id = :i", i=deal_id(won)) == 0


def test_arbitration_and_assignment_are_recorded(as_user, register, company, execute, scalar):
    name = register(company["owner"])
    execute("UPDATE opportunities SET registration_state = 'pending_arbitration' WHERE id = :i", i=deal_id(name))
    as_user(company["manager"]).ArbitrateRegistration(pb.ArbitrateRegistrationRequest(
        name=name, decision=pb.ArbitrateRegistrationRequest.APPROVE, note="先报备者优先"))
    (entry,) = trail(as_user(company["owner"]), name)
    assert (entry.kind, entry.actor, entry.reason) == ("arbitrate", f"users/{company['manager']}", "先报备者优先")
    assert fields(entry) == [("registration_state", "PENDING_ARBITRATION", "ACTIVE"),
                             ("arbiter", "", f"users/{company['manager']}"),
                             ("arbitration_note", "", "先报备者优先")]
    queued = register(company["owner"])
    execute("UPDATE opportunities SET registration_state = 'unassigned', owner_id = NULL WHERE id = :i",
            i=deal_id(queued))
    as_user(company["ops"]).AssignOpportunities(pb.AssignOpportunitiesRequest(assignments=[
        pb.Assignment(name=queued, assignee=f"users/{company['peer']}")]))
    (entry,) = trail(as_user(company["peer"]), queued)
    assert (entry.kind, entry.actor) == ("assign", f"users/{company['ops']}")
    assert fields(entry) == [("owner", "", f"users/{company['peer']}"),
                             ("registration_state", "UNASSIGNED", "ACTIVE")]
