"""De-duplication through CreateLead, and imports through the use case, the CLI and the streaming RPC,
against the session's real leads database (fixtures in conftest.py). Each test uses contact details
of its own, so leads other tests left behind never match."""

from __future__ import annotations

import io
import random
import uuid

import grpc
import openpyxl
import pytest

from leads import bootstrap
from leads.entrypoints import cli
from leads.service_layer import lead_import
from shangji.leads.v1 import leads_pb2
from shangji_kit.errors import InvalidArgument
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing.service_db import ServiceDb

DB = ServiceDb("leads")
execute = DB.execute
rows = DB.rows


def phone() -> str:
    return f"139{random.randrange(10**8):08d}"


def tag() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def dedupe_mode(shangji_env):
    """``dedupe_mode("merge")`` for one test; "flag" (the default) comes back afterwards."""

    def change(mode: str) -> None:
        execute("UPDATE pool_settings SET dedupe_mode = :m WHERE company = 'default'", m=mode)

    yield change
    change("flag")


@pytest.fixture
def uow(shangji_env):
    return bootstrap.uow_factory(Settings.for_service("leads"))


def lead_count(t: str) -> int:
    return rows("SELECT count(*) FROM leads WHERE company LIKE :p", p=f"%{t}%")[0][0]


def outbox_count(event_type: str) -> int:
    return rows("SELECT count(*) FROM outbox WHERE type = :t", t=f"shangji.leads.v1.{event_type}")[0][0]


# --- CreateLead ------------------------------------------------------------------------------------

def test_a_duplicate_capture_is_flagged_for_review_by_default(as_user):
    _, rep = as_user()
    t, p = tag(), phone()
    first = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"Acme {t} Co., Ltd.", contact_name="Li Lei", phone=p)))
    assert not first.duplicate_of and not first.merged
    before = outbox_count("LeadFlaggedDuplicate")
    # Same company in the same region, written differently: a duplicate on the company key.
    second = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"ACME {t} LIMITED", contact_name="Han Meimei", email=f"{t}@example.com")))
    assert second.id != first.id and second.duplicate_of == first.name and not second.merged
    assert rep.GetLead(leads_pb2.GetLeadRequest(name=second.name)).duplicate_of == first.name
    assert outbox_count("LeadFlaggedDuplicate") == before + 1
    [data] = [r[0] for r in rows("SELECT data FROM outbox WHERE type = 'shangji.leads.v1.LeadFlaggedDuplicate' "
                                 "AND subject = :s", s=second.name)]
    assert data["duplicateOf"] == first.name and data["matchedOn"] == "company"


def test_a_duplicate_capture_is_merged_into_the_existing_lead_keeping_its_follow_ups(as_user, dedupe_mode):
    dedupe_mode("merge")
    _, rep = as_user()
    t, p = tag(), phone()
    first = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"Merge {t}", contact_name="Li Lei", phone=p, region="Zhejiang")))
    rep.AddFollowUp(leads_pb2.AddFollowUpRequest(name=first.name, kind=leads_pb2.FollowUp.Kind.CALL, note="hi"))
    leads_before = lead_count(t)
    request_id = str(uuid.uuid4())
    req = leads_pb2.CreateLeadRequest(request_id=request_id, lead=leads_pb2.Lead(
        company=f"Something else {t}", contact_name="Li L.", phone=p, email=f"{t}@Example.com", industry="tea"))
    merged = rep.CreateLead(req)
    assert merged.merged and merged.name == first.name
    assert (merged.email, merged.industry, merged.company, merged.region) == (f"{t}@example.com", "tea",
                                                                               f"Merge {t}", "Zhejiang")
    assert merged.etag == "3"  # 1 created, 2 the follow-up, 3 the merge
    assert lead_count(t) == leads_before  # nothing new
    assert rows("SELECT count(*) FROM follow_ups WHERE lead_id = :id", id=first.id)[0][0] == 1
    [merge] = rows("SELECT matched_on, filled, incoming FROM lead_merges WHERE lead_id = :id", id=first.id)
    assert merge.matched_on == "phone" and merge.filled == ["email", "industry"]
    assert merge.incoming["contact_name"] == "Li L."
    [data] = [r[0] for r in rows("SELECT data FROM outbox WHERE type = 'shangji.leads.v1.LeadMerged' "
                                 "AND subject = :s", s=first.name)]
    assert data["filledFields"] == ["email", "industry"] and data["incoming"]["contactName"] == "Li L."
    # A retry with the same request id merges nothing twice.
    again = rep.CreateLead(req)
    assert again.merged and again.name == first.name and again.etag == "3"
    assert len(rows("SELECT 1 FROM lead_merges WHERE lead_id = :id", id=first.id)) == 1


def test_a_merge_into_a_lead_the_caller_may_not_see_tells_nothing_of_it(as_user, dedupe_mode):
    dedupe_mode("merge")
    _, holder = as_user()
    _, stranger = as_user()
    p = phone()
    holder.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"Private {tag()}", contact_name="Li Lei", phone=p)))
    merged = stranger.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company="Anything", contact_name="X", phone=p)))
    assert merged.merged and not merged.name and not merged.id
    assert not merged.owner and not merged.company and not merged.phone


# --- import: the use case and the CLI ---------------------------------------------------------------

def table(t: str, p1: str, p2: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Five rows: two good, one with a bad phone and no company, one duplicate of row 2 (email), one blank."""
    return (["Company", "Contact Name", "Phone", "Email", "Region"],
            [(2, [f"Good {t} One", "Li Lei", p1, "", "Zhejiang"]),
             (3, [f"Good {t} Two", "Han Meimei", p2, f"two.{t}@example.com", "Jiangsu"]),
             (4, ["", "Nobody", "12345", "", ""]),
             (5, [f"Dup {t}", "Han M.", "", f"TWO.{t}@example.com", "Jiangsu"]),
             (6, ["", "", "", "", ""])])


def test_an_import_with_bad_rows_commits_the_valid_ones_and_reports_each_rejection(uow):
    t = tag()
    columns, body = table(t, phone(), phone())
    created_before = outbox_count("LeadCreated")
    report = lead_import.import_leads(lead_import.ImportLeads(columns=columns, rows=body, to_pool=True), None, uow())
    assert report.committed and (report.accepted, report.flagged, report.merged) == (3, 1, 0)
    assert [(r.row_number, r.field) for r in report.rejections] == [(4, "company"), (4, "phone")]
    assert lead_count(t) == 3
    assert outbox_count("LeadCreated") == created_before + 3  # one per created lead
    [dup] = rows("SELECT duplicate_of, owner_id FROM leads WHERE company = :c", c=f"Dup {t}")
    [two] = rows("SELECT id FROM leads WHERE company = :c", c=f"Good {t} Two")
    assert str(dup.duplicate_of) == str(two.id) and dup.owner_id is None
    [summary] = rows("SELECT data FROM outbox WHERE type = 'shangji.leads.v1.LeadsImported' AND subject = :s",
                     s=f"imports/{report.content_sha256}")
    assert summary[0]["accepted"] == 3 and summary[0]["rejected"] == 1


def test_an_all_or_nothing_import_with_a_bad_row_writes_nothing(uow):
    t = tag()
    columns, body = table(t, phone(), phone())
    before = rows("SELECT count(*) FROM outbox")[0][0]
    report = lead_import.import_leads(lead_import.ImportLeads(columns=columns, rows=body, to_pool=True,
                                                        all_or_nothing=True), None, uow())
    assert not report.committed and report.rejected_rows == 1 and report.rejections[0].row_number == 4
    assert lead_count(t) == 0 and rows("SELECT count(*) FROM outbox")[0][0] == before


def test_the_same_file_twice_creates_nothing_twice_in_merge_mode_too(uow, dedupe_mode):
    dedupe_mode("merge")
    t = tag()
    columns, body = table(t, phone(), phone())
    first = lead_import.import_leads(lead_import.ImportLeads(columns=columns, rows=body, to_pool=True), None, uow())
    assert (first.accepted, first.merged, first.flagged) == (2, 1, 0)
    [two] = rows("SELECT id, version FROM leads WHERE company = :c", c=f"Good {t} Two")
    state = rows("SELECT id, version, email, phone FROM leads WHERE company LIKE :p ORDER BY id", p=f"%{t}%")
    again = lead_import.import_leads(lead_import.ImportLeads(columns=columns, rows=body, to_pool=True), None, uow())
    assert again.committed and (again.accepted, again.merged, again.already_imported) == (0, 0, 3)
    assert rows("SELECT id, version, email, phone FROM leads WHERE company LIKE :p ORDER BY id", p=f"%{t}%") == state
    assert len(rows("SELECT 1 FROM lead_merges WHERE lead_id = :id", id=two.id)) == 1


def test_rows_duplicating_existing_leads_are_merged_or_flagged(as_user, uow, dedupe_mode):
    owner_id, rep = as_user()
    t, p = tag(), phone()
    existing = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"有限 {t} 有限公司", contact_name="王芳", phone=p)))
    columns = ["公司名称", "联系人", "手机", "行业"]
    columns = ["公司名称", "联系人", "手机", "行业", "邮箱"]
    body = [(2, [f"有限 {t} 股份有限公司", "王芳", "", "茶叶", f"{t}@example.com"])]  # same company key
    flagged = lead_import.import_leads(lead_import.ImportLeads(columns=columns, rows=body, owner=f"users/{owner_id}"),
                                    None, uow())
    assert flagged.flagged == 1
    dedupe_mode("merge")
    body = [(3, [f"另一个 {t}", "王芳", p, "茶叶", ""])]  # phone match
    merged = lead_import.import_leads(lead_import.ImportLeads(columns=columns, rows=body, to_pool=True), None, uow())
    assert merged.merged == 1 and merged.accepted == 0
    after = rep.GetLead(leads_pb2.GetLeadRequest(name=existing.name))
    assert after.industry == "茶叶" and after.owner == existing.owner and after.etag == "2"


def test_a_table_missing_required_columns_is_refused_and_nothing_is_written(uow):
    before = rows("SELECT count(*) FROM leads")[0][0]
    with pytest.raises(InvalidArgument) as exc:
        lead_import.import_leads(lead_import.ImportLeads(columns=["Company", "Region"], rows=[(2, ["x", "y"])],
                                                   to_pool=True), None, uow())
    assert exc.value.violations[0].field == "columns"
    assert "contact_name" in exc.value.violations[0].description
    assert rows("SELECT count(*) FROM leads")[0][0] == before


def xlsx(header: list[str], data: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in data:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_cli_imports_csv_and_xlsx_files_and_refuses_a_malformed_one(tmp_path, capsys, uow):
    t = tag()
    csv_file = tmp_path / "fair.csv"
    csv_file.write_text(f"company,contact_name,phone,email\nCSV {t},Li Lei,{phone()},\n"
                        f"CSV {t} bad,Han,not a phone,\n", encoding="utf-8")
    assert cli.import_file(csv_file, "", True, False, lambda: uow()) == 1
    out = capsys.readouterr()
    assert "accepted 1" in out.out and "row 3: phone: not a valid phone number" in out.out
    assert "checking [##############################] 2/2" in out.err  # the progress bar
    assert "deciding [##############################] 1/1" in out.err
    xlsx_file = tmp_path / "fair.xlsx"
    xlsx_file.write_bytes(xlsx(["Company", "Contact", "Mobile"], [[f"XLSX {t}", "Zhou", int(phone())]]))
    assert cli.import_file(xlsx_file, "", True, True, lambda: uow()) == 0
    assert "accepted 1" in capsys.readouterr().out
    assert lead_count(t) == 2
    # Again: nothing twice.
    assert cli.import_file(xlsx_file, "", True, True, lambda: uow()) == 0
    assert "already imported 1" in capsys.readouterr().out and lead_count(t) == 2
    junk = tmp_path / "fair.xlsx.pdf"
    junk.write_bytes(b"%PDF-1.7\x00\x01\x02\x03")
    assert cli.import_file(junk, "", True, False, lambda: uow()) == 2
    assert "file: not a CSV file" in capsys.readouterr().err


# --- import: the streaming RPC ---------------------------------------------------------------------

def stream(header: leads_pb2.ImportHeader, body: list[tuple[int, list[str]]], chunk: int = 2):
    yield leads_pb2.ImportLeadsRequest(header=header)
    for i in range(0, len(body), chunk):
        yield leads_pb2.ImportLeadsRequest(rows=leads_pb2.ImportRows(rows=[
            leads_pb2.ImportRow(row_number=n, values=v) for n, v in body[i:i + chunk]]))


def test_import_leads_streams_rows_and_answers_the_report(as_user):
    owner_id, rep = as_user()
    t = tag()
    columns, body = table(t, phone(), phone())
    header = leads_pb2.ImportHeader(file_name="fair.csv", columns=columns)
    report = rep.ImportLeads(stream(header, body))
    assert (report.accepted, report.flagged, report.rejected, report.committed) == (3, 1, 1, True)
    assert [(r.row_number, r.field) for r in report.rejections] == [(4, "company"), (4, "phone")]
    owners = {r.owner_id for r in rows("SELECT owner_id FROM leads WHERE company LIKE :p", p=f"%{t}%")}
    assert {str(o) for o in owners} == {owner_id}  # the caller holds them
    again = rep.ImportLeads(stream(header, body, chunk=3))
    assert (again.accepted, again.already_imported) == (0, 3)
    assert lead_count(t) == 3


def test_import_leads_refuses_missing_columns_or_a_stream_without_header(as_user):
    _, rep = as_user()
    with pytest.raises(grpc.RpcError) as exc:
        rep.ImportLeads(stream(leads_pb2.ImportHeader(columns=["company", "phone"]), [(2, ["x", phone()])]))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "contact_name" in exc.value.details() or "contact_name" in str(details_of(exc.value))
    with pytest.raises(grpc.RpcError) as exc:
        rep.ImportLeads(iter([leads_pb2.ImportLeadsRequest(rows=leads_pb2.ImportRows())]))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_import_leads_for_someone_else_needs_the_right_to_give_them_leads(as_user, org):
    _, stranger = as_user()
    other = org.user()
    with pytest.raises(grpc.RpcError) as exc:
        stranger.ImportLeads(stream(leads_pb2.ImportHeader(columns=["company", "contact_name", "phone"],
                                                           owner=f"users/{other}"), [(2, ["x", "y", phone()])]))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_large_import_through_the_rpc_goes_as_sets_and_announces_every_lead(as_user):
    """From 200 valid rows the import is staged and written by SQL: the caller holds the leads, a repeated
    contact is flagged against the earlier row, every new lead has its LeadCreated and the file its summary."""
    owner_id, rep = as_user()
    t = tag()
    first = phone()
    body = [(n + 2, [f"大文件 {t} {n} 有限公司", f"联系人{n}", first if n in (0, 150) else phone()])
            for n in range(lead_import.SET_PATH_MIN_ROWS + 50)]
    header = leads_pb2.ImportHeader(file_name="big.csv", columns=["company", "contact_name", "phone"])
    report = rep.ImportLeads(stream(header, body, chunk=100))
    assert (report.accepted, report.flagged, report.rejected, report.committed) == (len(body), 1, 0, True)
    found = rows("SELECT id, owner_id, duplicate_of, request_id FROM leads WHERE company LIKE :p ORDER BY company",
                 p=f"%{t}%")
    assert len(found) == len(body) and {str(r.owner_id) for r in found} == {owner_id}
    assert all(r.request_id.startswith("import:") for r in found)
    [flagged] = [r for r in found if r.duplicate_of]
    original = rows("SELECT id FROM leads WHERE company = :c", c=f"大文件 {t} 0 有限公司")[0].id
    assert flagged.duplicate_of == original
    created = rows("SELECT data FROM outbox WHERE type = 'shangji.leads.v1.LeadCreated' AND subject = ANY(:s)",
                   s=[f"leads/{r.id}" for r in found])
    assert len(created) == len(body)
    assert all(d[0]["lead"]["owner"] == f"users/{owner_id}" and d[0]["imported"] and
               d[0]["createdBy"] == f"users/{owner_id}" for d in created)
    assert rows("SELECT count(*) FROM outbox WHERE type = 'shangji.leads.v1.LeadFlaggedDuplicate' AND subject = :s",
                s=f"leads/{flagged.id}")[0][0] == 1
    again = rep.ImportLeads(stream(header, body, chunk=100))
    assert (again.accepted, again.already_imported) == (0, len(body))
    assert lead_count(t) == len(body)
