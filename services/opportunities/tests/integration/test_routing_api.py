"""Routing rules, the assignment queue and AssignOpportunities through the in-process front."""

import uuid

import grpc
import pytest

from opportunities.entrypoints import cli
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.calls import fails


def routed(caller, region="", lines=("ERP",), amount="") -> pb.Opportunity:
    return caller.RegisterOpportunity(pb.RegisterOpportunityRequest(route=True, opportunity=pb.Opportunity(
        customer_company=f"路由客户{uuid.uuid4().hex[:8]}", product_lines=list(lines), region=region, amount=amount)))


def assign(caller, pairs) -> list[pb.Opportunity]:
    return list(caller.AssignOpportunities(pb.AssignOpportunitiesRequest(
        assignments=[pb.Assignment(name=n, assignee=f"users/{a}") for n, a in pairs])).opportunities)


@pytest.fixture
def rules(execute):
    east, big = str(uuid.uuid4()), str(uuid.uuid4())
    execute("DELETE FROM routing_rules")
    execute("INSERT INTO routing_rules (position, region, product_line, owner_id) "
            "VALUES (1, '华东', 'ERP', :o)", o=east)
    execute("INSERT INTO routing_rules (position, amount_min, owner_id) VALUES (2, 1000000, :o)", o=big)
    yield east, big
    execute("DELETE FROM routing_rules")
    # The queue is visible to every manager: leave none behind for other tests' exact lists.
    execute("DELETE FROM stage_history WHERE opportunity_id IN (SELECT id FROM opportunities WHERE owner_id IS NULL)")
    execute("DELETE FROM opportunities WHERE owner_id IS NULL")


def test_routing_picks_the_owner_or_queues_the_deal(as_user, rules, scalar, org):
    east, big = rules
    registrant = str(uuid.uuid4())
    caller = as_user(registrant)
    a = routed(caller, region="华东", lines=("erp",))
    assert (a.owner, a.registrant, a.registration_state) == (f"users/{east}", f"users/{registrant}",
                                                             pb.Opportunity.ACTIVE)
    b = routed(caller, region="华南", amount="2000000.00")
    assert b.owner == f"users/{big}"
    queued = routed(caller, region="", amount="5.00")  # rule 1 needs the region
    assert (queued.owner, queued.registration_state) == ("", pb.Opportunity.UNASSIGNED)
    assert scalar("SELECT count(*) FROM outbox WHERE subject = :s", s=queued.name) == 0  # announced when assigned
    # The queue: managers and sales ops see it, a rep (even its registrant) does not.
    manager = org.user(roles=("sales_manager",))
    org.department(head=manager)
    ops = org.user(roles=("sales_ops",))
    get = pb.GetOpportunityRequest(name=queued.name)
    assert as_user(manager).GetOpportunity(get).registration_state == pb.Opportunity.UNASSIGNED
    assert as_user(ops).GetOpportunity(get).name == queued.name
    assert fails(caller.GetOpportunity, get).code() == grpc.StatusCode.NOT_FOUND
    # Not routed: the caller owns it, whatever the rules say.
    assert caller.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        customer_company=f"客户{uuid.uuid4().hex[:6]}", product_lines=["ERP"], region="华东"))).owner == \
        f"users/{registrant}"


def test_sales_ops_assign_a_batch_all_or_none(as_user, rules, org, scalar):
    ops = org.user(roles=("sales_ops",))
    registrant = as_user(str(uuid.uuid4()))
    deals = [routed(registrant).name for _ in range(6)]
    reps = [str(uuid.uuid4()) for _ in range(3)]
    active = routed(registrant, region="华东").name
    # One deal not in the queue: nothing assigned.
    refused = fails(lambda r: assign(as_user(ops), [(deals[0], reps[0]), (active, reps[1])]), None)
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details_of(refused)["reason"] == "NOT_UNASSIGNED"
    assert details_of(refused)["preconditions"] == [("REGISTRATION", f"{active} is active")]
    assert scalar("SELECT registration_state FROM opportunities WHERE id = :i",
                  i=deals[0].split("/")[1]) == "unassigned"
    done = assign(as_user(ops), [(name, reps[i % 3]) for i, name in enumerate(deals)])
    assert [(d.name, d.owner, d.registration_state) for d in done] == [
        (name, f"users/{reps[i % 3]}", pb.Opportunity.ACTIVE) for i, name in enumerate(deals)]
    assert as_user(reps[1]).GetOpportunity(pb.GetOpportunityRequest(name=deals[1])).etag == "2"
    assert scalar("SELECT count(*) FROM outbox WHERE subject = :s AND type LIKE '%OpportunityRegistered'",
                  s=deals[1]) == 1
    again = fails(lambda r: assign(as_user(ops), [(deals[0], reps[0])]), None)
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_who_may_assign_and_bad_batches(as_user, rules, org, scalar):
    manager = org.user(roles=("sales_manager",))
    dept = org.department(head=manager)
    org.user(manager, department=dept, roles=("sales_manager",), kind="UserUpdated")
    mine, outsider = org.user(department=dept), str(uuid.uuid4())
    rep = str(uuid.uuid4())
    name = routed(as_user(rep)).name
    denied = fails(lambda r: assign(as_user(rep), [(name, rep)]), None)
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED and details_of(denied)["reason"] == "NOT_AN_ASSIGNER"
    foreign = fails(lambda r: assign(as_user(manager), [(name, outsider)]), None)
    assert foreign.code() == grpc.StatusCode.PERMISSION_DENIED
    assert details_of(foreign)["reason"] == "ASSIGNEE_NOT_MANAGED"
    gone = org.user(department=dept, active=False)
    inactive = fails(lambda r: assign(as_user(manager), [(name, gone)]), None)
    assert details_of(inactive)["reason"] == "ASSIGNEE_INACTIVE"
    for request, field in [
        (pb.AssignOpportunitiesRequest(), "assignments"),
        (pb.AssignOpportunitiesRequest(assignments=[pb.Assignment(name=name, assignee="bob")]),
         "assignments[0].assignee"),
        (pb.AssignOpportunitiesRequest(assignments=[pb.Assignment(name=name, assignee=f"users/{mine}")] * 2),
         "assignments[1].name"),
    ]:
        bad = fails(as_user(manager).AssignOpportunities, request)
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(bad)["fields"] == [field]
    missing = fails(lambda r: assign(as_user(manager), [(f"opportunities/{uuid.uuid4()}", mine)]), None)
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert scalar("SELECT registration_state FROM opportunities WHERE id = :i", i=name.split("/")[1]) == "unassigned"
    assert assign(as_user(manager), [(name, mine)])[0].owner == f"users/{mine}"


def test_cli_replaces_the_rules_and_refuses_a_bad_file(tmp_path, scalar, execute, capsys):
    owner = str(uuid.uuid4())
    good = tmp_path / "routing.yaml"
    good.write_text(f"- {{region: 华东, product_line: ERP, owner: users/{owner}}}\n"
                    f"- {{amount_min: 100000, amount_max: 1000000, owner: users/{owner}}}\n", encoding="utf-8")
    try:
        assert cli.main(["load-routing", str(good)]) == 0
        assert scalar("SELECT count(*) FROM routing_rules") == 2
        bad = tmp_path / "bad.yaml"
        bad.write_text("- {region: 华东, owner: bob}\n- {amount_min: 5, amount_max: 1, owner: users/x}\n"
                       "- {owner: users/" + owner + "}\n", encoding="utf-8")
        assert cli.main(["load-routing", str(bad)]) == 1
        err = capsys.readouterr().err
        assert "rules[0].owner" in err and "rules[2]: a rule needs" in err
        assert scalar("SELECT count(*) FROM routing_rules") == 2
    finally:
        execute("DELETE FROM routing_rules")
