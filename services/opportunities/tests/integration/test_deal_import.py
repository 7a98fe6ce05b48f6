"""ImportOpportunities through the in-process front, and the import-opportunities command: each row registered
as RegisterOpportunity would, collisions refused or queued per the company's mode, a per-row report and
idempotent re-sends, on the real database."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import openpyxl
import pytest

from opportunities import bootstrap
from opportunities.entrypoints import cli
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings

SOON = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
COLUMNS = ["商机名称", "客户名称", "产品线", "金额", "币种", "预计成交日期", "地区", "联系人", "customer"]
WRITTEN = ("opportunities", "outbox", "idempotency_keys")


def company() -> str:
    return f"导入客户{uuid.uuid4().hex[:8]}有限公司"


def stream(columns, body, *, owner: str = "", all_or_nothing: bool = False, chunk: int = 3):
    yield pb.ImportOpportunitiesRequest(header=pb.ImportOpportunitiesHeader(
        file_name="商机.xlsx", columns=columns, owner=owner, all_or_nothing=all_or_nothing))
    for i in range(0, len(body), chunk):
        yield pb.ImportOpportunitiesRequest(rows=pb.ImportRows(rows=[
            pb.ImportRow(row_number=n, values=v) for n, v in body[i:i + chunk]]))


def written(scalar) -> tuple:
    return tuple(scalar(f"SELECT count(*) FROM {t}") for t in WRITTEN)


def deals_of(scalar, customer: str) -> list:
    return scalar("SELECT coalesce(json_agg(json_build_object('title', title, 'lines', product_lines, 'owner', "
                  "owner_id, 'registrant', registrant_id, 'state', registration_state, 'amount', amount) "
                  "ORDER BY create_time, title), '[]') FROM opportunities WHERE customer_company = :c", c=customer)


def register(caller, customer: str, lines=("ERP",)) -> pb.Opportunity:
    return caller.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        customer_company=customer, product_lines=list(lines))))


@pytest.fixture
def queue_mode(execute):
    execute("UPDATE registration_settings SET collision_mode = 'queue'")
    yield
    execute("UPDATE registration_settings SET collision_mode = 'refuse', protection_days = 90")


def test_a_mixed_file_registers_the_good_rows_rejects_the_rest_by_column_and_a_resend_registers_nothing(
        as_user, scalar):
    rep, holder = str(uuid.uuid4()), str(uuid.uuid4())
    good, held, other = company(), company(), company()
    register(as_user(holder), held, ("ERP",))
    body = [
        (2, ["二期仓储", good, "ERP; MES", "88000.00", "cny", SOON, "华东", "王芳", ""]),
        (3, ["坏金额", good, "ERP", "abc", "", "2001-01-01", "", "", ""]),
        (4, ["无产品线", good, "", "", "", "", "", "", ""]),
        (5, ["坏\x00标题", good, "ERP", "", "", "", "", "", ""]),
        (6, ["撞单", held, "erp", "", "", "", "", "", ""]),
        (7, ["", other, "ＣＲＭ；WMS", "", "", "", "", "", ""]),
        (8, ["", "", "", "", "", "", "", "", ""]),
    ]
    report = as_user(rep).ImportOpportunities(stream(COLUMNS, body))
    assert (report.accepted, report.queued, report.rejected, report.already_imported, report.committed) == \
        (2, 0, 4, 0, True)
    assert [(r.row_number, r.field) for r in report.rejections] == [
        (3, "expected_close_date"), (3, "amount"), (4, "product_lines"), (5, "title"), (6, "customer_company")]
    assert f"users/{holder}" in report.rejections[-1].reason  # who holds it, as RegisterOpportunity says
    assert deals_of(scalar, good) == [{"title": "二期仓储", "lines": ["ERP", "MES"], "owner": rep, "registrant": rep,
                                       "state": "active", "amount": 88000.00}]
    assert [d["lines"] for d in deals_of(scalar, other)] == [["ＣＲＭ", "WMS"]]
    assert [d["title"] for d in deals_of(scalar, other)] == [other]  # no title: the company, as RegisterOpportunity
    assert len(deals_of(scalar, held)) == 1
    assert scalar("SELECT count(*) FROM outbox WHERE type = 'shangji.opportunities.v1.OpportunityRegistered' "
                  "AND data->'opportunity'->>'customerCompany' IN (:a, :b)", a=good, b=other) == 2

    before = written(scalar)
    again = as_user(rep).ImportOpportunities(stream(COLUMNS, body, chunk=5))
    assert (again.accepted, again.already_imported, again.rejected, again.committed) == (0, 2, 4, True)
    assert again.content_sha256 == report.content_sha256
    assert written(scalar) == before


def test_in_queue_mode_a_colliding_row_is_registered_and_queued(as_user, scalar, queue_mode):
    rep, holder, held = str(uuid.uuid4()), str(uuid.uuid4()), company()
    register(as_user(holder), held, ("MES",))
    report = as_user(rep).ImportOpportunities(stream(["title", "customer_company", "product_lines"],
                                                     [(2, ["排队", held, "MES;ERP"])]))
    assert (report.accepted, report.queued, report.rejected) == (1, 1, 0)
    assert [d["state"] for d in deals_of(scalar, held)] == ["active", "pending_arbitration"]


def test_an_all_or_nothing_import_with_a_rejected_row_writes_nothing(as_user, scalar):
    customer = company()
    body = [(2, ["好", customer, "ERP", "", "", "", "", "", ""]),
            (3, ["坏", customer, "ERP", "-5", "", "", "", "", ""])]
    before = written(scalar)
    report = as_user(str(uuid.uuid4())).ImportOpportunities(stream(COLUMNS, body, all_or_nothing=True))
    assert not report.committed and report.accepted == 0
    assert [(r.row_number, r.field) for r in report.rejections] == [(3, "amount")]
    assert written(scalar) == before


def test_a_collision_in_an_all_or_nothing_import_rolls_back_the_rows_before_it(as_user, scalar):
    rep, holder, held, fresh = str(uuid.uuid4()), str(uuid.uuid4()), company(), company()
    register(as_user(holder), held)
    before = written(scalar)
    report = as_user(rep).ImportOpportunities(stream(
        ["title", "customer_company", "product_lines"], [(2, ["先", fresh, "ERP"]), (3, ["撞", held, "ERP"])],
        all_or_nothing=True))
    assert not report.committed and [(r.row_number, r.field) for r in report.rejections] == [(3, "customer_company")]
    assert written(scalar) == before and deals_of(scalar, fresh) == []


def test_deals_for_someone_else_need_a_manager_above_them_or_sales_ops(as_user, org, scalar):
    department = org.department()
    rep = org.user(department=department)
    manager = org.user(department=department)
    org.department(department, head=manager)
    stranger = org.user()
    customer = company()
    columns, body = ["title", "customer_company", "product_lines"], [(2, ["给下属", customer, "ERP"])]
    before = written(scalar)
    with pytest.raises(grpc.RpcError) as exc:
        as_user(stranger).ImportOpportunities(stream(columns, body, owner=f"users/{rep}"))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert written(scalar) == before
    report = as_user(manager).ImportOpportunities(stream(columns, body, owner=f"users/{rep}"))
    assert report.accepted == 1
    [deal] = deals_of(scalar, customer)
    assert (deal["owner"], deal["registrant"]) == (rep, manager)
    ops = org.user(roles=("sales_ops",))
    other = company()
    report = as_user(ops).ImportOpportunities(stream(columns, [(2, ["运营", other, "ERP"])], owner=f"users/{rep}"))
    assert report.accepted == 1 and deals_of(scalar, other)[0]["owner"] == rep


def test_a_customer_the_caller_may_not_see_rejects_its_row_as_not_found(as_user, own_customer, scalar):
    rep = str(uuid.uuid4())
    hidden, mine = own_customer(str(uuid.uuid4())), own_customer(rep)
    customer = company()
    report = as_user(rep).ImportOpportunities(stream(
        ["title", "customer_company", "product_lines", "customer"],
        [(2, ["看不见", customer, "ERP", f"customers/{hidden}"]),
         (3, ["看得见", customer, "MES", f"customers/{mine}"])]))
    assert report.accepted == 1 and [(r.row_number, r.field, r.reason) for r in report.rejections] == [
        (2, "customer", f"customers/{hidden} not found")]


def test_a_header_without_a_required_column_or_with_a_bad_owner_is_refused_naming_each(as_user, scalar):
    before = written(scalar)
    with pytest.raises(grpc.RpcError) as exc:
        as_user(str(uuid.uuid4())).ImportOpportunities(stream(["title", "product_lines"], [(2, ["x", "ERP"])],
                                                              owner="nobody"))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc.value)["fields"] == ["columns", "owner"] and "customer_company" in exc.value.details()
    with pytest.raises(grpc.RpcError) as exc:
        as_user(str(uuid.uuid4())).ImportOpportunities(iter([]))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc.value)["fields"] == ["header"]
    assert written(scalar) == before


def test_the_cli_imports_an_xlsx_file_of_deals_and_prints_the_report(tmp_path, capsys, org, scalar):
    owner, customer = org.user(), company()
    book = openpyxl.Workbook()
    book.active.append(["Title", "Customer Company", "Product Lines", "Amount"])
    book.active.append(["命令行", customer, "ERP;MES", 120000])
    book.active.append(["坏", customer, "ERP", "lots"])
    data = io.BytesIO()
    book.save(data)
    path = tmp_path / "deals.xlsx"
    path.write_bytes(data.getvalue())
    uow = bootstrap.uow_factory(Settings.for_service("opportunities"))
    assert cli.import_file(path, f"users/{owner}", False, uow) == 1
    out = capsys.readouterr().out
    assert "deals.xlsx: committed; accepted 1 (queued 0), rejected 1, already imported 0" in out
    assert "row 3: amount:" in out
    assert cli.import_file(path, f"users/{owner}", False, uow) == 1
    assert "already imported 1" in capsys.readouterr().out
    [deal] = deals_of(scalar, customer)
    assert (deal["owner"], deal["registrant"], deal["amount"]) == (owner, owner, 120000)
