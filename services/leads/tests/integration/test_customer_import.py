"""ImportCustomers through the front, and the import-customers command: customers with their contacts from
a table, matched to existing customers, with a per-row report and idempotent re-sends (fixtures in
conftest.py). Each test uses company names of its own."""

from __future__ import annotations

import random
import uuid

import grpc
import pytest

from leads import bootstrap
from leads.entrypoints import cli
from shangji.leads.v1 import leads_pb2
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings

COLUMNS = ["公司名称", "地区", "行业", "联系人", "职位", "手机", "邮箱", "buying_role"]
WRITTEN = ("customers", "contacts", "outbox", "idempotency_keys")


def phone() -> str:
    return f"139{random.randrange(10**8):08d}"


def tag() -> str:
    return uuid.uuid4().hex[:8]


def written(query) -> tuple:
    return tuple(query(f"SELECT count(*) FROM {t}")[0][0] for t in WRITTEN)


def stream(columns: list[str], body: list[tuple[int, list[str]]], *, owner: str = "", all_or_nothing: bool = False,
           chunk: int = 3):
    yield leads_pb2.ImportCustomersRequest(header=leads_pb2.ImportCustomersHeader(
        file_name="客户.xlsx", columns=columns, owner=owner, all_or_nothing=all_or_nothing))
    for i in range(0, len(body), chunk):
        yield leads_pb2.ImportCustomersRequest(rows=leads_pb2.ImportRows(rows=[
            leads_pb2.ImportRow(row_number=n, values=v) for n, v in body[i:i + chunk]]))


def customer_of(query, display_name: str, region: str):
    return query("SELECT id, owner_id, industry, chain_revision FROM customers WHERE display_name = :n "
                 "AND region = :r", n=display_name, r=region)


def contacts_of(query, customer_id) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in query("SELECT display_name, phone, email FROM contacts WHERE customer_id = :c "
                                    "ORDER BY create_time, id", c=customer_id)]


def mixed(t: str, p1: str, p2: str) -> list[tuple[int, list[str]]]:
    return [
        (2, [f"杭州茶厂{t}", "浙江", "茶叶", "王芳", "采购经理", p1, "", "decision_maker"]),
        (3, [f"杭州茶厂{t}有限公司", "浙江", "", "李雷", "", "", f"li.{t}@example.com", ""]),  # same customer
        (4, [f"杭州茶厂{t}", "浙江", "", "王芳", "", p1, "", ""]),  # a contact it already has
        (5, ["", "浙江", "", "韩梅梅", "", phone(), "", ""]),
        (6, [f"宁波{t}", "浙江", "", "", "", p2, "", "boss"]),
        (7, [f"老客户{t}", "上海", "", "赵六", "", phone(), "", ""]),  # an existing customer of the caller
        (8, [f"仅公司{t}", "江苏", "制造", "", "", "", "", ""]),
        (9, [f"坏\x00{t}", "浙江", "", "钱七", "", phone(), "", ""]),
        (10, [f"无电话{t}", "浙江", "", "孙八", "", "", "", ""]),
        (11, ["", "", "", "", "", "", "", ""]),
    ]


def test_a_mixed_file_creates_matches_and_rejects_each_row_exactly_and_a_resend_changes_nothing(as_user, query):
    owner_id, rep = as_user()
    t, p1, p2 = tag(), phone(), phone()
    existing = rep.CreateCustomer(leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(
        display_name=f"老客户{t}", region="上海")))
    body = mixed(t, p1, p2)
    report = rep.ImportCustomers(stream(COLUMNS, body))
    assert (report.customers_created, report.customers_matched, report.contacts_created, report.rejected,
            report.already_imported, report.committed) == (2, 1, 3, 4, 0, True)
    assert [(r.row_number, r.field) for r in report.rejections] == [
        (5, "company"), (6, "contact_name"), (6, "buying_role"), (9, "company"), (10, "contact_phone")]
    assert "NUL" in report.rejections[3].reason and len(report.content_sha256) == 64

    [tea] = customer_of(query, f"杭州茶厂{t}", "浙江")
    assert str(tea.owner_id) == owner_id and tea.industry == "茶叶" and tea.chain_revision == 1
    assert contacts_of(query, tea.id) == [("王芳", f"+86{p1}", ""), ("李雷", "", f"li.{t}@example.com")]
    [only] = customer_of(query, f"仅公司{t}", "江苏")
    assert contacts_of(query, only.id) == [] and only.chain_revision == 0
    assert [c[0] for c in contacts_of(query, existing.id)] == ["赵六"]
    assert customer_of(query, f"宁波{t}", "浙江") == []
    chain = query("SELECT data FROM outbox WHERE type = 'shangji.leads.v1.CustomerDecisionChainChanged' "
                  "AND subject = :s", s=f"customers/{tea.id}")
    assert [[c["name"] for c in r[0]["contacts"]] for r in chain] == [["王芳", "李雷"]]
    assert query("SELECT count(*) FROM outbox WHERE type = 'shangji.leads.v1.CustomerCreated' AND subject IN "
                 "(:a, :b)", a=f"customers/{tea.id}", b=f"customers/{only.id}")[0][0] == 2
    assert rep.GetCustomer(leads_pb2.GetCustomerRequest(name=existing.name)).decision_chain[0].name == "赵六"

    before = written(query)
    again = rep.ImportCustomers(stream(COLUMNS, body, chunk=4))
    assert (again.customers_created, again.customers_matched, again.contacts_created, again.already_imported,
            again.rejected, again.committed) == (0, 0, 0, 5, 4, True)
    assert again.content_sha256 == report.content_sha256
    assert written(query) == before


def test_an_all_or_nothing_import_with_a_rejected_row_writes_nothing(as_user, query):
    _, rep = as_user()
    t = tag()
    body = [(2, [f"全有{t}", "浙江", "", "王芳", "", phone(), "", ""]),
            (3, [f"全无{t}", "浙江", "", "李雷", "", "12", "", ""])]
    before = written(query)
    report = rep.ImportCustomers(stream(COLUMNS, body, all_or_nothing=True))
    assert not report.committed and report.customers_created == 0
    assert [(r.row_number, r.field) for r in report.rejections] == [(3, "contact_phone")]
    assert written(query) == before
    # Without the bad row it goes in.
    report = rep.ImportCustomers(stream(COLUMNS, body[:1], all_or_nothing=True))
    assert report.committed and (report.customers_created, report.contacts_created) == (1, 1)


def test_a_company_that_is_a_customer_the_caller_may_not_change_is_rejected_without_naming_it(as_user, query):
    _, holder = as_user()
    _, stranger = as_user()
    t = tag()
    held = holder.CreateCustomer(leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(
        display_name=f"别人的{t}", region="北京")))
    report = stranger.ImportCustomers(stream(["company", "region", "contact_name", "contact_phone"],
                                             [(2, [f"别人的{t}", "北京", "周九", phone()])]))
    assert report.committed and report.rejected == 1 and report.customers_matched == 0
    [rejection] = report.rejections
    assert rejection.field == "company" and "may not see" in rejection.reason and held.id not in rejection.reason
    assert contacts_of(query, held.id) == []


def test_new_customers_for_someone_else_need_the_right_to_give_them_customers(as_user, org, query):
    _, stranger = as_user()
    rep = org.user()
    columns, body = ["company"], [(2, [f"给别人{tag()}"])]
    before = written(query)
    with pytest.raises(grpc.RpcError) as exc:
        stranger.ImportCustomers(stream(columns, body, owner=f"users/{rep}"))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert written(query) == before
    _, ops = as_user(org.user(roles=("sales_ops",)))
    report = ops.ImportCustomers(stream(columns, body, owner=f"users/{rep}"))
    assert report.customers_created == 1
    assert [str(r.owner_id) for r in query("SELECT owner_id FROM customers WHERE display_name = :n",
                                           n=body[0][1][0])] == [rep]


def test_a_header_without_company_or_a_bad_owner_is_refused_naming_each_and_writes_nothing(as_user, query):
    _, rep = as_user()
    before = written(query)
    with pytest.raises(grpc.RpcError) as exc:
        rep.ImportCustomers(stream(["地区", "联系人", "手机"], [(2, ["浙江", "王芳", phone()])], owner="people/1"))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = details_of(exc.value)
    assert details["fields"] == ["columns", "owner"] and "company" in exc.value.details()
    with pytest.raises(grpc.RpcError) as exc:
        rep.ImportCustomers(iter([leads_pb2.ImportCustomersRequest(rows=leads_pb2.ImportRows())]))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc.value)["fields"] == ["header"]
    assert written(query) == before


def test_the_cli_imports_a_customers_file_and_refuses_a_malformed_one(tmp_path, capsys, org, query):
    owner = org.user()
    t = tag()
    uow = bootstrap.uow_factory(Settings.for_service("leads"))
    csv_file = tmp_path / "客户.csv"
    csv_file.write_text(f"公司名称,地区,联系人,手机\n命令行{t},浙江,王芳,{phone()}\n命令行{t},浙江,李雷,12\n",
                        encoding="gb18030")
    assert cli.import_customers_file(csv_file, f"users/{owner}", False, uow) == 1
    out = capsys.readouterr().out
    assert "committed; customers created 1, matched 0, contacts created 1, rejected 1" in out
    assert "row 3: contact_phone: not a valid phone number" in out
    assert cli.import_customers_file(csv_file, f"users/{owner}", False, uow) == 1
    assert "already imported 1" in capsys.readouterr().out
    assert len(customer_of(query, f"命令行{t}", "浙江")) == 1
    junk = tmp_path / "customers.xlsx"
    junk.write_bytes(b"company\n")
    assert cli.import_customers_file(junk, f"users/{owner}", False, uow) == 2
    assert "file: customers.xlsx is not an XLSX workbook" in capsys.readouterr().err
