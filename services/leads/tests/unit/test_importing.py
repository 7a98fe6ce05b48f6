from datetime import UTC, datetime

import pytest

from leads.adapters import tables
from leads.domain import importing
from shangji_kit.errors import InvalidArgument

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def test_header_columns_are_found_by_name_or_alias_in_any_case():
    assert importing.column_map(["公司名称", " Contact Name ", "Mobile", "EMAIL", "wechat"]) == {
        "company": 0, "contact_name": 1, "phone": 2, "email": 3}


@pytest.mark.parametrize(("columns", "problem"), [
    (["company", "phone"], "contact_name"),
    (["company", "contact_name", "region"], "phone or email"),
    (["name", "phone", "email"], "company"),
    (["company", "contact_name", "phone", "tel"], "appears twice"),
])
def test_missing_or_repeated_columns_are_refused_by_name(columns, problem):
    with pytest.raises(InvalidArgument) as exc:
        importing.column_map(columns)
    [violation] = exc.value.violations
    assert violation.field == "columns" and problem in violation.description


def test_a_row_becomes_a_lead_or_every_reason_it_cannot():
    positions = importing.column_map(["company", "contact_name", "phone", "email"])
    lead = importing.parse_row(2, ["Acme", "Li Lei", "13800138000", ""], positions, id="x", owner_id=None, now=NOW)
    assert lead.phone == "+8613800138000" and lead.owner_id is None
    rejected = importing.parse_row(3, ["", "Li Lei", "12", "not-mail"], positions, id="y", owner_id=None, now=NOW)
    assert [(r.row_number, r.field) for r in rejected] == [(3, "company"), (3, "phone"), (3, "email")]


def test_a_short_row_reads_missing_cells_as_empty():
    positions = importing.column_map(["company", "contact_name", "phone", "email"])
    lead = importing.parse_row(2, ["Acme", "Li Lei", "13800138000"], positions, id="x", owner_id=None, now=NOW)
    assert lead.email == ""


def test_the_idempotency_key_depends_on_content_and_row_only():
    rows = [(2, ["a", "b"])]
    h = importing.content_sha256(["c1", "c2"], rows)
    assert h == importing.content_sha256(["c1", "c2"], [(2, ["a", "b"])])
    assert h != importing.content_sha256(["c1", "c2"], [(2, ["a", "c"])])
    assert importing.row_request_id(h, 2) == importing.row_request_id(h, 2) != importing.row_request_id(h, 3)


def test_csv_in_utf8_with_bom_or_gb18030_is_read_with_line_numbers():
    text = "company,contact_name,phone\n\n杭州茶厂,王芳,13800138000\n"
    for data in (("\ufeff" + text).encode(), text.encode("gb18030")):
        assert tables.read_table(data, "x.csv") == (["company", "contact_name", "phone"],
                                                     [(2, []), (3, ["杭州茶厂", "王芳", "13800138000"])])


def test_xlsx_cells_are_read_as_text():
    openpyxl = pytest.importorskip("openpyxl")
    import io

    book = openpyxl.Workbook()
    book.active.append(["company", "contact_name", "phone"])
    book.active.append(["Acme", "Li", 13800138000])
    out = io.BytesIO()
    book.save(out)
    assert tables.read_table(out.getvalue(), "x.xlsx") == (["company", "contact_name", "phone"],
                                                            [(2, ["Acme", "Li", "13800138000"])])


@pytest.mark.parametrize(("data", "name", "problem"), [
    (b"%PDF-1.4\x00\x01\x02binary", "leads.pdf", "not a CSV"),
    (b"company,contact_name\n", "x.xlsx", "not an XLSX"),
    (b"PK\x03\x04broken zip", "x.xlsx", "not a readable XLSX"),
    (b"", "x.csv", "empty"),
])
def test_a_file_that_is_neither_csv_nor_xlsx_is_refused(data, name, problem):
    with pytest.raises(InvalidArgument) as exc:
        tables.read_table(data, name)
    assert exc.value.violations[0].field == "file" and problem in exc.value.violations[0].description
