"""ListTasks' filter and order_by (README, "Lists") through the API, against the real database."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit import company_time
from shangji_kit.rpc.status import details_of


@pytest.fixture
def deal_tasks(org, register, as_user, execute):
    owner, helper = org.user(), org.user()
    rep = as_user(owner)
    deal = register(owner)
    today = company_time.today(datetime.now(UTC))
    made = {}
    for key, title, due, assignee in (("call", "call the buyer", 1, owner), ("quote", "send the quote", 10, helper),
                                      ("demo", "arrange a demo", 3, helper)):
        made[key] = rep.CreateTask(pb.CreateTaskRequest(parent=deal, task=pb.Task(
            title=title, due_date=(today + timedelta(days=due)).isoformat(), assignee=f"users/{assignee}"))).name
    rep.CompleteTask(pb.CompleteTaskRequest(name=made["demo"]))
    # A task whose day has passed (in the company's time zone): created earlier, so set in the database.
    execute("UPDATE tasks SET due_date = :due WHERE id = :id", due=today - timedelta(days=1),
            id=made["call"].rsplit("/", 1)[1])
    return {"rep": rep, "deal": deal, "owner": owner, "helper": helper, "tasks": made, "today": today}


def titles(d, filter: str = "", order_by: str = "") -> list[str]:
    by_name = {v: k for k, v in d["tasks"].items()}
    resp = d["rep"].ListTasks(pb.ListTasksRequest(parent=d["deal"], filter=filter, order_by=order_by))
    return [by_name[t.name] for t in resp.tasks if t.name in by_name]


def test_task_filters_and_orders(deal_tasks):
    d = deal_tasks
    assert titles(d) == ["call", "quote", "demo"]  # oldest first, as before
    assert titles(d, "state = OPEN") == ["call", "quote"]
    assert titles(d, "state = DONE") == ["demo"]
    assert titles(d, f'assignee = "users/{d["helper"]}"') == ["quote", "demo"]
    assert titles(d, "overdue = true") == ["call"]
    assert titles(d, f'due_date >= "{d["today"]}" AND due_date <= "{d["today"] + timedelta(days=5)}"') == ["demo"]
    assert titles(d, order_by="due_date") == ["call", "demo", "quote"]
    assert titles(d, order_by="due_date desc") == ["quote", "demo", "call"]
    assert titles(d, order_by="complete_time desc, title") == ["demo", "call", "quote"]  # never completed: last


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"filter": "priority = high"}, "filter"),
    ({"filter": "state = LATE"}, "filter"),
    ({"filter": "due_date <"}, "filter"),
    ({"order_by": "assignee"}, "order_by"),
])
def test_bad_task_filters_are_invalid_argument(deal_tasks, request_fields, field):
    with pytest.raises(grpc.RpcError) as exc:
        deal_tasks["rep"].ListTasks(pb.ListTasksRequest(parent=deal_tasks["deal"], **request_fields))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc.value)["fields"] == [field]


def test_a_filter_does_not_open_a_deal_the_caller_may_not_see(deal_tasks, as_user):
    with pytest.raises(grpc.RpcError) as exc:
        as_user(str(uuid.uuid4())).ListTasks(pb.ListTasksRequest(parent=deal_tasks["deal"], filter="state = OPEN"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
