"""Demo data and one walk through the suite, printed step by step (make demo).

Re-running is safe: every create carries a fixed request id, so the second run finds the first
run's records instead of making new ones.
"""

from __future__ import annotations

import time

import grpc
from google.protobuf import field_mask_pb2

from scripts import demo_samples
from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
from shangji.notify.v1 import notify_pb2, notify_pb2_grpc
from shangji.opportunities.v1 import opportunities_pb2, opportunities_pb2_grpc
from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
from shangji_kit import settings
from shangji_kit.auth import mint_dev_token
from shangji_kit.rpc.client import Caller, channel

ADMIN = "00000000-0000-0000-0000-00000000d0d0"

USERS = [  # request id, name, email, phone, roles, department (a key of DEPARTMENTS)
    ("demo-user-wangqiang", "王强", "wangqiang@demo.shangji", "13800138002", ("sales_manager",), "centre"),
    ("demo-user-lina", "李娜", "lina@demo.shangji", "13800138001", ("sales_rep",), "south"),
    ("demo-user-chenjing", "陈静", "chenjing@demo.shangji", "13800138003", ("presales",), "presales"),
]

DEPARTMENTS = [  # key, request id, name, parent key, head's name (parents come first)
    ("centre", "demo-dept-centre", "销售中心", None, "王强"),
    ("south", "demo-dept-south", "华南销售部", "centre", "王强"),
    ("presales", "demo-dept-presales", "售前技术部", "centre", None),
]

LEADS = [
    ("demo-lead-1", "深圳市华创精密制造有限公司", "刘总", "0755-8888 6666", "liu@huachuang.example", "华南", "展会"),
    ("demo-lead-2", "广州智联物流科技有限公司", "周经理", "13922223333", "zhou@zhilian.example", "华南", "官网"),
    ("demo-lead-3", "东莞新能电池股份有限公司", "吴工", "13733334444", "", "华南", "老客户推荐"),
]


def step(text: str) -> None:
    print(f"\n==> {text}")


def main() -> None:
    admin = Caller(teams_pb2_grpc.TeamsServiceStub(channel("teams")), mint_dev_token(ADMIN, roles=("admin",)))
    step("teams: creating the demo sales team")
    users = {}
    for request_id, name, email, phone, roles, _ in USERS:
        users[name] = admin.CreateUser(teams_pb2.CreateUserRequest(request_id=request_id, user=teams_pb2.User(
            display_name=name, email=email, phone=phone, roles=roles)))

    step("teams: the department tree")
    departments = {}
    for key, request_id, name, parent, head in DEPARTMENTS:
        dept = admin.CreateDepartment(teams_pb2.CreateDepartmentRequest(request_id=request_id, department=(
            teams_pb2.Department(display_name=name, parent=departments[parent].name if parent else "",
                                 head=users[head].name if head else ""))))
        departments[key] = dept
        indent = "  " * (dept.path.count("/") - 2)
        print(f"    {indent}{dept.display_name}  {dept.name}  head: {head or '-'}")

    step("teams: placing everyone in their department")
    for _, name, _, _, roles, key in USERS:
        # An update to what is there already changes nothing, so a re-run writes nothing here either.
        user = admin.UpdateUser(teams_pb2.UpdateUserRequest(
            user=teams_pb2.User(name=users[name].name, department=departments[key].name, roles=roles),
            update_mask=field_mask_pb2.FieldMask(paths=["department", "roles"])))
        users[name] = user
        print(f"    {user.display_name:<4} {user.name}  {user.email}  {user.phone}  "
              f"{departments[key].display_name}  {', '.join(user.roles)}")

    rep = users["李娜"]
    token = mint_dev_token(rep.id)
    leads = Caller(leads_pb2_grpc.LeadsServiceStub(channel("leads")), token)
    opps = Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(channel("opportunities")), token)
    inbox = Caller(notify_pb2_grpc.NotifyServiceStub(channel("notify")), token)

    step(f"leads: {rep.display_name} captures three leads (phones and emails normalised on the way in)")
    created = []
    for request_id, company, contact, phone, email, region, source in LEADS:
        lead = leads.CreateLead(leads_pb2.CreateLeadRequest(request_id=request_id, lead=leads_pb2.Lead(
            company=company, contact_name=contact, phone=phone, email=email, region=region, source=source)))
        created.append(lead)
        print(f"    {lead.name}  {lead.company}  {lead.contact_name}  {lead.phone or '-'}  "
              f"{leads_pb2.Lead.State.Name(lead.state)}")

    first = created[0]
    step(f"leads: converting {first.company} into an opportunity")
    try:
        converted = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=first.name, opportunity_title="产线数字化改造"))
        print(f"    {converted.name} is now {leads_pb2.Lead.State.Name(converted.state)}; "
              "LeadConverted is in the leads outbox, committed with the lead")
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
            raise
        print(f"    already converted by an earlier demo run ({exc.details()})")

    step("opportunities: waiting for the worker to register the deal from the LeadConverted event")
    opp = _wait(lambda: next((o for o in opps.ListOpportunities(
        opportunities_pb2.ListOpportunitiesRequest(page_size=50)).opportunities if o.lead == first.name), None))
    print(f"    {opp.name}  「{opp.title}」  customer {opp.customer_company}")
    print(f"    owner {opp.owner}  pipeline {opp.pipeline}  stage {opp.stage} ({opp.stage_display_name})")

    step(f"notify: {rep.display_name}'s in-app inbox")
    note = _wait(lambda: next((n for n in inbox.ListNotifications(
        notify_pb2.ListNotificationsRequest(page_size=50)).notifications if n.subject == opp.name), None))
    print(f"    [{'read' if note.read else 'unread'}] {note.title}")
    print(f"    {note.body}")

    manager, presales = users["王强"], users["陈静"]
    step(f"visibility: {manager.display_name} heads 华南销售部, so he sees {rep.display_name}'s deal; "
         f"{presales.display_name} (售前技术部) does not")
    as_manager = Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(channel("opportunities")),
                        mint_dev_token(manager.id))
    as_presales = Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(channel("opportunities")),
                         mint_dev_token(presales.id))
    _wait(lambda: any(o.name == opp.name for o in as_manager.ListOpportunities(
        opportunities_pb2.ListOpportunitiesRequest(page_size=200)).opportunities))
    print(f"    {manager.display_name}: sees {opp.name}")
    hidden = not any(o.name == opp.name for o in as_presales.ListOpportunities(
        opportunities_pb2.ListOpportunitiesRequest(page_size=200)).opportunities)
    print(f"    {presales.display_name}: {'does not see it' if hidden else 'SEES IT (unexpected)'}")

    demo_samples.run(admin, rep, manager, opp)

    step(f"opportunities: {rep.display_name} sets the amount; the deal's audit trail keeps old and new")
    current = opps.GetOpportunity(opportunities_pb2.GetOpportunityRequest(name=opp.name))
    if current.amount != "850000.00":  # a re-run changes nothing, so it records nothing either
        opps.UpdateOpportunity(opportunities_pb2.UpdateOpportunityRequest(
            opportunity=opportunities_pb2.Opportunity(name=opp.name, amount="850000", currency="CNY"),
            update_mask=field_mask_pb2.FieldMask(paths=["amount", "currency"]), etag=current.etag))
    for change in opps.ListOpportunityChanges(opportunities_pb2.ListOpportunityChangesRequest(
            parent=opp.name, page_size=5)).changes:
        fields = ", ".join(f"{c.field}: {c.old_value or '-'} -> {c.new_value}" for c in change.changes)
        print(f"    {change.change_time.ToDatetime():%Y-%m-%d %H:%M} {change.kind:<7} {change.actor}  {fields}")

    if opp.customer:
        step(f"leads: the customer timeline of {opp.customer_company} (leads, deals and samples, newest first)")
        timeline = _wait(lambda: (t := leads.GetCustomerTimeline(leads_pb2.GetCustomerTimelineRequest(
            customer=opp.customer, page_size=10))).items and t)
        for item in timeline.items:
            print(f"    {item.event_time.ToDatetime():%Y-%m-%d %H:%M}  {item.source:<13} {item.title}")
        if timeline.unavailable_sources:
            print(f"    (not answering now: {', '.join(timeline.unavailable_sources)})")

    host, port = settings.web_address()
    print("\nThe suite is running. Try it yourself:")
    print(f"    web console: http://{host}:{port}/  (sign in as {rep.name} ({rep.display_name}, a rep) "
          f"or {manager.name} ({manager.display_name}, a manager))")
    print(f"    export TOKEN=$(.venv/bin/python -m shangji_kit.admin token {rep.id})")
    print("    .venv/bin/python -m opportunities.entrypoints.cli export opportunities --format xlsx --token $TOKEN")
    print("    make status                            # each process and its health")
    print("    make down                              # stop everything")


def _wait(probe, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise SystemExit(f"demo: nothing arrived within {timeout}s; see .run/logs/")


if __name__ == "__main__":
    main()
