"""ExportLeads and ExportCustomers (README, "Exports") through the API on the real database: each file parsed back
holds exactly the rows ListLeads / ListCustomers give for the same filter and order, as a manager and as a rep."""

import uuid
from datetime import UTC

import grpc
import pytest

from leads.entrypoints import cli
from shangji.leads.v1 import leads_pb2
from shangji_kit import export
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.exports import read_export, read_saved, shown_time, xlsx_same_time

CSV = leads_pb2.EXPORT_FORMAT_CSV
XLSX = leads_pb2.EXPORT_FORMAT_XLSX


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    """Batches of two rows and small chunks, so a handful of rows crosses several keyset batches and chunks."""
    monkeypatch.setattr(export, "BATCH_ROWS", 2)
    monkeypatch.setattr(export, "CHUNK_BYTES", 300)


def listed(call, request_type, field: str, **fields) -> list:
    items, token = [], ""
    while True:
        resp = call(request_type(page_size=3, page_token=token, **fields))
        items += list(getattr(resp, field))
        token = resp.next_page_token
        if not token:
            return items


def new_lead(caller, **fields) -> leads_pb2.Lead:
    fields.setdefault("contact_name", "王伟")
    fields.setdefault("phone", f"1390013{uuid.uuid4().int % 10000:04d}")
    return caller.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(**fields)))


@pytest.fixture
def team(org, as_user):
    """A department head and two reps below them; each rep holds leads (one with Chinese text everywhere)."""
    department, head_id = org.head()
    a_id, a = as_user(org.user(department, roles=("sales_rep",)))
    b_id, b = as_user(org.user(department, roles=("sales_rep",)))
    _, head = as_user(head_id)
    tag = uuid.uuid4().hex[:6]
    made = [new_lead(a, company=f"深圳市华创精密{tag}有限公司", region="华南", source="展会", industry="制造",
                     contact_title="采购经理", notes="客户要求演示，\"焊接\"，逗号,换行\n第二行"),
            new_lead(a, company=f"Acme {tag}", region="east", source="web"),
            new_lead(a, company=f"Beta {tag}", region="华南", source="web"),
            new_lead(b, company=f"Gamma {tag}", region="east", source="expo"),
            new_lead(b, company=f"Delta {tag}", region="华南", source="expo")]
    return {"head": head, "a": a, "b": b, "a_id": a_id, "b_id": b_id, "leads": made, "tag": tag}


def test_the_csv_holds_every_lead_the_list_shows_in_its_order_for_a_manager_and_a_rep(team):
    for who, flt, order in (("head", "", ""), ("head", 'region = "华南"', "company desc"), ("a", "", "company"),
                            ("b", "source = expo", "")):
        caller = team[who]
        expected = listed(caller.ListLeads, leads_pb2.ListLeadsRequest, "leads", filter=flt, order_by=order)
        got = read_export(caller.ExportLeads(leads_pb2.ExportLeadsRequest(filter=flt, order_by=order)))
        assert got.column("Lead") == [x.name for x in expected], (who, flt, order)
        assert got.first.total_rows == len(expected) == len(got.rows)
        assert got.first.content_type == "text/csv" and got.first.file_name.endswith(".csv")
        assert got.first.file_name.startswith("leads-")
        assert [c.rows_written for c in got.chunks] == sorted(c.rows_written for c in got.chunks)
        assert got.chunks[-1].rows_written == len(expected)
        assert all(c.total_rows == 0 and not c.file_name for c in got.chunks[1:])
        for row, lead in zip(got.records(), expected, strict=True):
            assert row["Company"] == lead.company and row["Contact"] == lead.contact_name
            assert row["Phone"] == "'" + lead.phone  # E.164 starts with "+": guarded
            assert row["Owner"] == lead.owner and row["Region"] == lead.region and row["Score"] == str(lead.score)
            assert row["Created"] == shown_time(lead.create_time.ToDatetime(tzinfo=UTC))
    # A rep's file never holds the other rep's leads; the head's holds both.
    mine = read_export(team["a"].ExportLeads(leads_pb2.ExportLeadsRequest())).column("Lead")
    theirs = {x.name for x in team["leads"][3:]}
    assert theirs.isdisjoint(mine) and {x.name for x in team["leads"][:3]} <= set(mine)
    assert {x.name for x in team["leads"]} <= set(read_export(team["head"].ExportLeads(
        leads_pb2.ExportLeadsRequest())).column("Lead"))


def test_chinese_text_quotes_and_line_breaks_come_back_as_written_in_csv_and_xlsx(team):
    lead = team["leads"][0]
    flt = f'search = "华创精密{team["tag"]}"'
    for fmt in (CSV, XLSX):
        got = read_export(team["a"].ExportLeads(leads_pb2.ExportLeadsRequest(filter=flt, format=fmt)))
        (row,) = got.records()
        assert row["Company"] == lead.company and row["Region"] == "华南" and row["Source"] == "展会"
        assert row["Notes"] == "客户要求演示，\"焊接\"，逗号,换行\n第二行" and row["Contact title"] == "采购经理"
    assert got.first.file_name.endswith(".xlsx")
    assert xlsx_same_time(row["Created"], lead.create_time.ToDatetime(tzinfo=UTC)) and row["Score"] == lead.score


def test_the_xlsx_holds_the_same_rows_as_the_list(team):
    expected = listed(team["head"].ListLeads, leads_pb2.ListLeadsRequest, "leads", order_by="company")
    got = read_export(team["head"].ExportLeads(leads_pb2.ExportLeadsRequest(order_by="company", format=XLSX)))
    assert got.column("Lead") == [x.name for x in expected]
    assert got.first.total_rows == len(expected) and got.chunks[-1].rows_written == len(expected)
    assert got.first.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert got.column("Phone") == [x.phone for x in expected]  # a string cell: nothing to guard


def test_cells_a_spreadsheet_would_run_as_formulas_are_guarded(as_user, org):
    _, rep = as_user(org.user(roles=("sales_rep",)))
    hostile = {"=HYPERLINK(\"http://evil\",\"x\")": "=", "+1+2": "+", "-3+4": "-", "@SUM(A1)": "@"}
    for company in hostile:
        new_lead(rep, company=company, notes="@cmd", region="-")
    csv_file = read_export(rep.ExportLeads(leads_pb2.ExportLeadsRequest(order_by="company")))
    assert sorted(csv_file.column("Company")) == sorted("'" + c for c in hostile)
    assert set(csv_file.column("Notes")) == {"'@cmd"} and set(csv_file.column("Region")) == {"'-"}
    assert set(csv_file.column("Score")) == {"0"}  # numbers are not text: never prefixed
    xlsx = read_export(rep.ExportLeads(leads_pb2.ExportLeadsRequest(order_by="company", format=XLSX)))
    assert sorted(xlsx.column("Company")) == sorted(hostile)
    company = xlsx.header.index("Company")
    assert {types[company] for types in xlsx.cell_types} == {"s"}  # strings, never formulas


def test_the_pool_export_holds_the_pool_list(team):
    _, rep = team["a_id"], team["a"]
    expected = listed(rep.ListLeads, leads_pb2.ListLeadsRequest, "leads", in_pool=True)
    got = read_export(rep.ExportLeads(leads_pb2.ExportLeadsRequest(in_pool=True)))
    assert got.column("Lead") == [x.name for x in expected] and set(got.column("Owner")) <= {""}
    assert got.first.file_name.startswith("leads-pool-")


@pytest.mark.parametrize("request_, field", [
    (leads_pb2.ExportLeadsRequest(filter="colour = red"), "filter"),
    (leads_pb2.ExportLeadsRequest(filter='region = "x'), "filter"),
    (leads_pb2.ExportLeadsRequest(order_by="phone"), "order_by"),
    (leads_pb2.ExportLeadsRequest(order_by="company sideways"), "order_by"),
    (leads_pb2.ExportLeadsRequest(format=7), "format"),
    (leads_pb2.ExportLeadsRequest(filter="x" * 5000), "filter"),
    (leads_pb2.ExportLeadsRequest(filter="region = \"a\x00b\""), "filter"),
])
def test_bad_input_is_refused_before_the_first_chunk(as_user, org, request_, field):
    _, rep = as_user(org.user(roles=("sales_rep",)))
    chunks = []
    with pytest.raises(grpc.RpcError) as exc:
        chunks.extend(rep.ExportLeads(request_))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and chunks == []
    assert field in details_of(exc.value)["fields"][0]


def test_exports_are_counted_and_timed_by_status(team):
    from shangji_kit import metrics

    method = "/shangji.leads.v1.LeadsService/ExportLeads"

    def counted(code: str) -> float:
        return metrics.RPC_REQUESTS.labels("leads", method, code)._value.get()

    ok, bad = counted("OK"), counted("INVALID_ARGUMENT")
    read_export(team["a"].ExportLeads(leads_pb2.ExportLeadsRequest()))
    with pytest.raises(grpc.RpcError):
        list(team["a"].ExportLeads(leads_pb2.ExportLeadsRequest(filter="nope = 1")))
    assert (counted("OK"), counted("INVALID_ARGUMENT")) == (ok + 1, bad + 1)


def test_bad_customer_export_input_is_refused_before_the_first_chunk(as_user, org):
    _, rep = as_user(org.user(roles=("sales_rep",)))
    for request, field in ((leads_pb2.ExportCustomersRequest(filter="score > 3"), "filter"),
                           (leads_pb2.ExportCustomersRequest(order_by="company"), "order_by"),
                           (leads_pb2.ExportCustomersRequest(format=-1), "format")):
        chunks = []
        with pytest.raises(grpc.RpcError) as exc:
            chunks.extend(rep.ExportCustomers(request))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and chunks == []
        assert details_of(exc.value)["fields"] == [field]


def new_customer(caller, name: str, contacts=()) -> leads_pb2.Customer:
    customer = caller.CreateCustomer(leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(
        display_name=name, region="江苏", industry="纺织", size="50-199")))
    for contact_name, phone in contacts:
        caller.CreateContact(leads_pb2.CreateContactRequest(parent=customer.name, contact=leads_pb2.Contact(
            display_name=contact_name, title="CTO", phone=phone, buying_role="technical_evaluator")))
    return customer


def test_customers_export_one_row_per_contact_as_the_list_shows_them(team):
    tag = team["tag"]
    mine = [new_customer(team["a"], f"苏州丝绸{tag}一厂", [("周杰", "13900139001"), ("李娜", "13900139002")]),
            new_customer(team["a"], f"苏州丝绸{tag}二厂")]
    theirs = new_customer(team["b"], f"苏州丝绸{tag}三厂", [("王芳", "13900139003")])
    flt = f'search = "{tag}"'
    for who, visible in (("a", 3), ("head", 4)):
        for fmt in (CSV, XLSX):
            expected = listed(team[who].ListCustomers, leads_pb2.ListCustomersRequest, "customers", filter=flt,
                              order_by="display_name")
            got = read_export(team[who].ExportCustomers(leads_pb2.ExportCustomersRequest(
                filter=flt, order_by="display_name", format=fmt)))
            want = [(c.name, c.display_name, chain.contact, chain.name)
                    for c in expected for chain in (c.decision_chain or [leads_pb2.DecisionChainContact()])]
            assert [(r["Customer"], r["Company"], r["Contact"], r["Contact name"]) for r in got.records()] == want
            assert got.first.total_rows == len(want) == visible
    rows = read_export(team["a"].ExportCustomers(leads_pb2.ExportCustomersRequest(filter=flt)))
    assert theirs.name not in rows.column("Customer") and mine[1].name in rows.column("Customer")
    assert {r["Contact name"] for r in rows.records()} == {"周杰", "李娜", ""}


def test_the_cli_saves_the_file_with_a_progress_bar(team, front, token_for, tmp_path, capsys):
    target = f"127.0.0.1:{front.bound_port}"
    code = cli.main(["export", "leads", "--target", target, "--token", token_for(team["a_id"]), "--format", "xlsx",
                     "--order-by", "company", "-o", str(tmp_path)])
    assert code == 0
    (saved,) = tmp_path.iterdir()
    assert saved.name.startswith("leads-") and saved.suffix == ".xlsx"
    err = capsys.readouterr().err
    assert "[##############################] 3/3 rows" in err
    expected = listed(team["a"].ListLeads, leads_pb2.ListLeadsRequest, "leads", order_by="company")
    assert read_saved(saved).column("Lead") == [x.name for x in expected]
    # A refusal says why and leaves no file.
    bad = tmp_path / "bad.csv"
    assert cli.main(["export", "customers", "--target", target, "--token", token_for(team["a_id"]),
                     "--filter", "nope = 1", "-o", str(bad)]) == 1
    assert "INVALID_ARGUMENT" in capsys.readouterr().err and not bad.exists()
    assert cli.main(["export", "leads", "--target", target, "--token", token_for(team["a_id"]),
                     "-o", str(tmp_path / "no" / "such" / "dir.csv")]) == 2
    assert "cannot write the file" in capsys.readouterr().err
