"""A lead's assignment history (ListLeadAssignments) through the front in-process, with the worker's handover,
the recycle rules on a chosen clock and an import, against the session's real leads database."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from leads import bootstrap
from leads.service_layer import lead_import, pool
from shangji.leads.v1 import leads_pb2
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing.service_db import ServiceDb

DB = ServiceDb("leads")
SALES = ("sales_rep",)


def new_lead(**kw) -> leads_pb2.Lead:
    # Contact details of its own, so no other test's lead makes it a flagged duplicate.
    fields = {"company": f"杭州历史测试{uuid.uuid4().hex[:8]}有限公司", "contact_name": "周工",
              "phone": f"137{random.randrange(10**8):08d}", "region": "华东", "industry": "logistics"}
    return leads_pb2.Lead(**(fields | kw))


def history(leads, name: str, page_size: int = 0, page_token: str = "") -> leads_pb2.ListLeadAssignmentsResponse:
    return leads.ListLeadAssignments(leads_pb2.ListLeadAssignmentsRequest(parent=name, page_size=page_size,
                                                                          page_token=page_token))


def entries(response) -> list[tuple]:
    return [(a.kind, a.previous_owner, a.new_owner, a.actor, a.reason, list(a.rules)) for a in response.assignments]


def refused(call, request, code: grpc.StatusCode) -> dict:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    assert exc.value.code() == code, exc.value.details()
    return details_of(exc.value)


def u(user_id: str) -> str:
    return f"users/{user_id}"


@pytest.fixture
def uow(shangji_env):
    return bootstrap.uow_factory(Settings.for_service("leads"))


def test_every_change_of_holder_is_listed_newest_first_with_actor_kind_reason_and_rules(
        org, as_user, ops, worker, teams, uow):
    # A sales manager heads the team (so sees the pool) and is away (so the rules pass them over).
    department = org.department()
    head_id = org.user(department, roles=("sales_manager",))
    org.change_department(department, head=head_id)
    _, head = as_user(head_id)
    head.SetRepAway(leads_pb2.SetRepAwayRequest(user=u(head_id), away=True))
    a_id = org.user(department, roles=SALES)
    _, a = as_user(a_id)
    lead = a.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead(), to_pool=True))
    a.ClaimLeads(leads_pb2.ClaimLeadsRequest(names=[lead.name]))
    a.ReturnLead(leads_pb2.ReturnLeadRequest(name=lead.name, reason="no_need"))
    # A is the only sales rep below the head: the rules choose A (nobody has a territory or expertise).
    assert head.AutoAssignLead(leads_pb2.AutoAssignLeadRequest(name=lead.name)).owner == u(a_id)
    b_id = org.user(department, roles=SALES)
    head.AssignLeads(leads_pb2.AssignLeadsRequest(names=[lead.name], assignee=u(b_id), reason=" 客户在宁波，B 熟悉 "))
    c_id = org.user(department, roles=SALES)
    handed_at = datetime.now(UTC)
    worker.on_ownership_transferred(teams.transfer(b_id, c_id, transfer_time=handed_at))
    recycled_at = datetime.now(UTC) + timedelta(days=8)
    pool.recycle(recycled_at, uow())

    listed = history(ops[1], lead.name)
    assert entries(listed) == [
        ("recycle", u(c_id), "", "", "NO_FOLLOW_UP", []),
        ("handover", u(b_id), u(c_id), "", "", []),
        ("assign", u(a_id), u(b_id), u(head_id), "客户在宁波，B 熟悉", []),
        ("auto_assign", "", u(a_id), u(head_id), "", ["ROUND_ROBIN"]),
        ("return", u(a_id), "", u(a_id), "no_need", []),
        ("claim", "", u(a_id), u(a_id), "", []),
    ]
    assert listed.next_page_token == ""
    times = [a.change_time.ToDatetime(tzinfo=UTC) for a in listed.assignments]
    assert times[0] == recycled_at and times[1] == handed_at and times == sorted(times, reverse=True)
    # The reason travels on LeadAssigned too (the rules' assignment carries none).
    assigned = [r.data for r in DB.rows("SELECT data FROM outbox WHERE type = 'shangji.leads.v1.LeadAssigned' "
                                        "AND subject = :s ORDER BY position", s=lead.name)]
    assert [(e.get("reason", ""), e.get("rules", [])) for e in assigned] == [
        ("", ["ROUND_ROBIN"]), ("客户在宁波，B 熟悉", [])]
    # Whoever sees the lead reads its history: a pool lead, so every active sales user.
    assert entries(history(a, lead.name)) == entries(listed)


def test_a_lead_captured_or_imported_with_an_owner_starts_its_history(org, as_user, ops, uow):
    rep_id = org.user(roles=SALES)
    _, rep = as_user(rep_id)
    own = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead()))
    ops_id, ops_caller = ops
    given = ops_caller.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead(owner=u(rep_id))))
    assert entries(history(rep, own.name)) == [("create", "", u(rep_id), u(rep_id), "", [])]
    assert entries(history(rep, given.name)) == [("create", "", u(rep_id), u(ops_id), "", [])]
    pooled = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead(), to_pool=True))
    assert entries(history(rep, pooled.name)) == []  # the pool is nobody: no change of holder yet

    company = f"导入历史{uuid.uuid4().hex[:8]}"
    columns = ["company", "contact_name", "phone"]
    report = lead_import.import_leads(lead_import.ImportLeads(
        columns=columns, rows=[(2, [company, "吴工", f"136{random.randrange(10**8):08d}"])], owner=u(rep_id)),
        None, uow())
    assert report.accepted == 1
    [(imported_id,)] = DB.rows("SELECT id::text FROM leads WHERE company = :c", c=company)
    assert entries(history(rep, f"leads/{imported_id}")) == [("import", "", u(rep_id), "", "", [])]

    # Into the pool with the rules: the lead is born held by the rep they chose, by the operator (nobody).
    company = f"导入分配{uuid.uuid4().hex[:8]}"
    report = lead_import.import_leads(lead_import.ImportLeads(
        columns=columns, rows=[(2, [company, "郑工", f"135{random.randrange(10**8):08d}"])], to_pool=True,
        auto_assign=True), None, uow())
    assert report.assigned == 1
    [(auto_id, owner)] = DB.rows("SELECT id::text, owner_id::text FROM leads WHERE company = :c", c=company)
    [(kind, previous, new, actor, reason, rules)] = entries(history(ops_caller, f"leads/{auto_id}"))
    assert (kind, previous, new, actor, reason, rules[-1]) == ("auto_assign", "", u(owner), "", "", "ROUND_ROBIN")


def test_the_history_pages_newest_first_and_is_hidden_like_the_lead(org, as_user):
    department, head_id = org.head()
    _, head = as_user(head_id)
    reps = [org.user(department, roles=SALES) for _ in range(3)]
    lead = head.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead(owner=u(reps[0]))))
    for rep_id in (*reps[1:], reps[0]):
        head.AssignLeads(leads_pb2.AssignLeadsRequest(names=[lead.name], assignee=u(rep_id)))
    everything = entries(history(head, lead.name))
    assert [(e[1], e[2]) for e in everything] == [(u(reps[2]), u(reps[0])), (u(reps[1]), u(reps[2])),
                                                   (u(reps[0]), u(reps[1])), ("", u(reps[0]))]
    pages, token = [], ""
    while True:
        page = history(head, lead.name, page_size=3, page_token=token)
        pages.append(entries(page))
        token = page.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [3, 1] and sum(pages, []) == everything

    # A rep who does not hold it, a stranger, a missing lead: NOT_FOUND alike.
    _, other = as_user(org.user(roles=SALES))
    _, stranger = as_user()
    for caller, name in ((other, lead.name), (stranger, lead.name), (head, f"leads/{uuid.uuid4()}")):
        refused(caller.ListLeadAssignments, leads_pb2.ListLeadAssignmentsRequest(parent=name),
                grpc.StatusCode.NOT_FOUND)
    bad = [leads_pb2.ListLeadAssignmentsRequest(parent="leads/not-a-uuid"),
           leads_pb2.ListLeadAssignmentsRequest(parent=lead.name, page_size=-1),
           leads_pb2.ListLeadAssignmentsRequest(parent=lead.name, page_token="bm90IGEgdG9rZW4=")]
    assert [refused(head.ListLeadAssignments, r, grpc.StatusCode.INVALID_ARGUMENT)["fields"] for r in bad] == [
        ["parent"], ["page_size"], ["page_token"]]


def test_an_assignment_with_a_bad_reason_is_refused_naming_every_field_and_writes_nothing(org, as_user):
    department, head_id = org.head()
    _, head = as_user(head_id)
    rep_id = org.user(department, roles=SALES)
    lead = head.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead()))

    def written() -> tuple:
        return (DB.scalar("SELECT count(*) FROM lead_assignments WHERE lead_id = :id", id=lead.id),
                DB.scalar("SELECT count(*) FROM outbox WHERE subject = :s", s=lead.name),
                DB.scalar("SELECT version FROM leads WHERE id = :id", id=lead.id))

    before = written()
    long = leads_pb2.AssignLeadsRequest(names=[lead.name], assignee=u(rep_id), reason="理" * 501)
    assert refused(head.AssignLeads, long, grpc.StatusCode.INVALID_ARGUMENT)["fields"] == ["reason"]
    both = leads_pb2.AssignLeadsRequest(names=[lead.name], assignee="people/1", reason="x" * 501)
    assert refused(head.AssignLeads, both, grpc.StatusCode.INVALID_ARGUMENT)["fields"] == ["assignee", "reason"]
    nul = leads_pb2.AssignLeadsRequest(names=[lead.name], assignee=u(rep_id), reason="a\x00b")
    assert refused(head.AssignLeads, nul, grpc.StatusCode.INVALID_ARGUMENT)["fields"] == ["reason"]
    assert written() == before
    head.AssignLeads(leads_pb2.AssignLeadsRequest(names=[lead.name], assignee=u(rep_id), reason="理" * 500))
    assert entries(history(head, lead.name))[0][4] == "理" * 500
