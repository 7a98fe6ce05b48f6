"""ExportOpportunities and ExportTasks (README, "Exports") through the API on the real database: each file parsed
back holds exactly the rows ListOpportunities / ListTasks give for the same filter and order, as a manager and as
a rep, and never a deal or task the caller may not see."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc
import pytest

from opportunities.entrypoints import cli
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit import company_time, export
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.exports import read_export, read_saved, shown_time, xlsx_same_time

XLSX = pb.EXPORT_FORMAT_XLSX


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    """Batches of two rows and small chunks, so a handful of rows crosses several keyset batches and chunks."""
    monkeypatch.setattr(export, "BATCH_ROWS", 2)
    monkeypatch.setattr(export, "CHUNK_BYTES", 300)


def listed(caller, **fields) -> list:
    items, token = [], ""
    while True:
        resp = caller.ListOpportunities(pb.ListOpportunitiesRequest(page_size=3, page_token=token, **fields))
        items += list(resp.opportunities)
        token = resp.next_page_token
        if not token:
            return items


@pytest.fixture
def team(org, register, execute, as_user):
    """A department head and two reps below them, each with deals (Chinese text, amounts, a formula-like title)."""
    boss = org.user()
    dept = org.department(head=boss)
    a, b = org.user(department=dept), org.user(department=dept)
    tag = uuid.uuid4().hex[:6]
    specs = [(a, f"华创精密{tag}", "注塑件 一期", 500000), (a, f"Acme {tag}", "=SUM(1,2)", 120000.5),
             (a, f"Beta {tag}", "Beta lathes", None), (b, f"Gamma {tag}", "+Gamma molds", 80000),
             (b, f"Delta {tag}", "Delta drives", 950000)]
    names = []
    for owner, company, title, amount in specs:
        name = register(owner)
        execute("UPDATE opportunities SET customer_company = :company, title = :title, amount = :amount "
                "WHERE id = :id", company=company, title=title, amount=amount, id=name.split("/")[1])
        names.append(name)
    return {"boss": as_user(boss), "a": as_user(a), "b": as_user(b), "a_id": a, "names": names, "tag": tag}


def test_the_csv_holds_every_deal_the_list_shows_for_a_manager_and_a_rep(team):
    flt = f'search = "{team["tag"]}"'
    for who, order in (("boss", ""), ("boss", "amount desc"), ("a", "customer_company"), ("b", "")):
        expected = listed(team[who], filter=flt, order_by=order)
        got = read_export(team[who].ExportOpportunities(pb.ExportOpportunitiesRequest(filter=flt, order_by=order)))
        assert got.column("Opportunity") == [o.name for o in expected], (who, order)
        assert got.first.total_rows == len(expected) == {"boss": 5, "a": 3, "b": 2}[who]
        assert got.first.content_type == "text/csv" and got.first.file_name.startswith("opportunities-")
        assert got.chunks[-1].rows_written == len(expected)
        for row, deal in zip(got.records(), expected, strict=True):
            assert row["Company"] == deal.customer_company and row["Owner"] == deal.owner
            assert row["Amount"] == deal.amount and row["Stage"] == deal.stage
            assert row["Title"] == ("'" + deal.title if deal.title[0] in "=+" else deal.title)
            assert row["Created"] == shown_time(deal.create_time.ToDatetime(tzinfo=UTC))
    # Everything without a filter: the other rep's deals never appear in a rep's file.
    mine = read_export(team["a"].ExportOpportunities(pb.ExportOpportunitiesRequest())).column("Opportunity")
    assert set(team["names"][:3]) <= set(mine) and set(team["names"][3:]).isdisjoint(mine)


def test_the_xlsx_holds_typed_cells_and_chinese_text(team):
    flt = f'search = "{team["tag"]}"'
    expected = listed(team["boss"], filter=flt, order_by="customer_company")
    got = read_export(team["boss"].ExportOpportunities(pb.ExportOpportunitiesRequest(
        filter=flt, order_by="customer_company", format=XLSX)))
    assert got.first.file_name.endswith(".xlsx") and got.column("Opportunity") == [o.name for o in expected]
    for row, deal in zip(got.records(), expected, strict=True):
        assert row["Company"] == deal.customer_company and row["Title"] == deal.title  # "=SUM(1,2)" as text
        assert row["Amount"] == ("" if not deal.amount else float(Decimal(deal.amount)))
        assert xlsx_same_time(row["Created"], deal.create_time.ToDatetime(tzinfo=UTC))
    assert "注塑件 一期" in got.column("Title")
    title = got.header.index("Title")
    assert {types[title] for types in got.cell_types} == {"s"}


@pytest.mark.parametrize("request_, field", [
    (pb.ExportOpportunitiesRequest(filter="colour = red"), "filter"),
    (pb.ExportOpportunitiesRequest(filter="amount >"), "filter"),
    (pb.ExportOpportunitiesRequest(order_by="owner"), "order_by"),
    (pb.ExportOpportunitiesRequest(format=3), "format"),
    (pb.ExportOpportunitiesRequest(filter="title = \"" + "长" * 3000 + "\""), "filter"),
])
def test_bad_deal_export_input_is_refused_before_the_first_chunk(team, request_, field):
    chunks = []
    with pytest.raises(grpc.RpcError) as exc:
        chunks.extend(team["a"].ExportOpportunities(request_))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and chunks == []
    assert field in details_of(exc.value)["fields"][0]


@pytest.fixture
def tasks(team, register, org):
    """Tasks on two deals of rep a, and one on rep b's deal."""
    today = company_time.today(datetime.now(UTC))
    made = {}
    for key, (who, deal), title, due in (("call", ("a", 0), "打电话给采购", 1), ("quote", ("a", 0), "@quote", 9),
                                         ("demo", ("a", 1), "arrange a demo", 3), ("other", ("b", 3), "their task", 2)):
        assignee = team["a_id"] if who == "a" else None
        caller = team[who]
        task = pb.Task(title=title, due_date=(today + timedelta(days=due)).isoformat(),
                       assignee=f"users/{assignee or org.user()}")
        made[key] = caller.CreateTask(pb.CreateTaskRequest(parent=team["names"][deal], task=task))
    team["a"].CompleteTask(pb.CompleteTaskRequest(name=made["demo"].name))
    return made


def test_one_deals_tasks_are_its_task_list(team, tasks):
    deal = team["names"][0]
    for order, fmt in (("", pb.EXPORT_FORMAT_CSV), ("due_date desc", XLSX)):
        expected = team["a"].ListTasks(pb.ListTasksRequest(parent=deal, order_by=order)).tasks
        got = read_export(team["a"].ExportTasks(pb.ExportTasksRequest(parent=deal, order_by=order, format=fmt)))
        assert got.column("Task") == [t.name for t in expected] and len(expected) == 2
        assert got.first.total_rows == 2 and deal.split("/")[1] in got.first.file_name
    assert read_export(team["a"].ExportTasks(pb.ExportTasksRequest(parent=deal))).column("Title") == [
        "打电话给采购", "'@quote"]


def test_every_deals_tasks_are_those_of_the_deals_the_caller_sees(team, tasks):
    mine = read_export(team["a"].ExportTasks(pb.ExportTasksRequest(parent="opportunities/-", filter="state = OPEN",
                                                                   order_by="due_date desc")))
    assert mine.column("Task") == [tasks["quote"].name, tasks["call"].name]
    assert mine.first.file_name.startswith("tasks-")
    everything = read_export(team["boss"].ExportTasks(pb.ExportTasksRequest(parent="opportunities/-")))
    union = [t.name for deal in team["names"]
             for t in team["boss"].ListTasks(pb.ListTasksRequest(parent=deal)).tasks]
    assert sorted(everything.column("Task")) == sorted(union) and len(union) == 4
    created = everything.column("Created")
    assert created == sorted(created)  # ListTasks' default order, over every deal
    assert tasks["other"].name not in read_export(team["a"].ExportTasks(
        pb.ExportTasksRequest(parent="opportunities/-"))).column("Task")


def test_a_deal_the_caller_may_not_see_is_not_found_and_bad_input_is_refused(team, tasks):
    for request, code, field in (
            (pb.ExportTasksRequest(parent=team["names"][3]), grpc.StatusCode.NOT_FOUND, None),
            (pb.ExportTasksRequest(parent=f"opportunities/{uuid.uuid4()}"), grpc.StatusCode.NOT_FOUND, None),
            (pb.ExportTasksRequest(parent=""), grpc.StatusCode.INVALID_ARGUMENT, "parent"),
            (pb.ExportTasksRequest(parent="opportunities/*"), grpc.StatusCode.INVALID_ARGUMENT, "parent"),
            (pb.ExportTasksRequest(parent="opportunities/-", filter="priority = high"),
             grpc.StatusCode.INVALID_ARGUMENT, "filter"),
            (pb.ExportTasksRequest(parent="opportunities/-", order_by="assignee"),
             grpc.StatusCode.INVALID_ARGUMENT, "order_by"),
            (pb.ExportTasksRequest(parent="opportunities/-", format=9), grpc.StatusCode.INVALID_ARGUMENT, "format")):
        chunks = []
        with pytest.raises(grpc.RpcError) as exc:
            chunks.extend(team["a"].ExportTasks(request))
        assert exc.value.code() == code and chunks == [], request
        if field:
            assert details_of(exc.value)["fields"] == [field]


def test_the_cli_saves_the_deals_with_a_progress_bar(team, front, token_for, tmp_path, capsys):
    out = tmp_path / "deals.csv"
    assert cli.main(["export", "opportunities", "--target", f"127.0.0.1:{front.bound_port}", "--token",
                     token_for(team["a_id"]), "--filter", f'search = "{team["tag"]}"', "-o", str(out)]) == 0
    assert "[##############################] 3/3 rows" in capsys.readouterr().err
    assert sorted(read_saved(out).column("Opportunity")) == sorted(team["names"][:3])
