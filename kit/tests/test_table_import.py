"""What every import shares: the header, files, client streams, idempotency keys, NUL cells."""

from __future__ import annotations

import io

import openpyxl
import pytest

from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit import limits, table_import
from shangji_kit.errors import InvalidArgument

COLUMNS = table_import.Columns(required=("company",), one_of=(("phone", "email"),), optional=("region",),
                               aliases={"公司名称": "company", "mobile": "phone"})


def test_columns_are_found_by_name_or_alias_in_any_case_and_others_ignored():
    assert COLUMNS.positions(["公司名称", " Region ", "MOBILE", "wechat"]) == {"company": 0, "region": 1, "phone": 2}


@pytest.mark.parametrize(("columns", "problem"), [
    (["region", "phone"], "missing required column(s): company"),
    (["company", "region"], "missing required column(s): phone or email"),
    (["company", "phone", "Mobile"], "column 'phone' appears twice"),
])
def test_a_missing_or_repeated_column_is_refused_on_columns_naming_it(columns, problem):
    with pytest.raises(InvalidArgument) as exc:
        COLUMNS.positions(columns)
    [violation] = exc.value.violations
    assert violation.field == "columns" and problem in violation.description


def test_repeated_or_non_positive_row_numbers_are_named_each():
    found = table_import.check_row_numbers([(2, []), (0, []), (2, [])])
    assert [(v.field, v.description) for v in found] == [
        ("rows[1].row_number", "must be at least 1, not 0"), ("rows[2].row_number", "row 2 again (first at rows[0])")]


def test_the_idempotency_key_depends_on_content_and_row_only():
    rows = [(2, ["a", "b"])]
    h = table_import.content_sha256(["c1", "c2"], rows)
    assert h == table_import.content_sha256(["c1", "c2"], [(2, ["a", "b"])])
    assert h != table_import.content_sha256(["c1", "c2"], [(2, ["a", "c"])])
    assert table_import.row_request_id(h, 2) == table_import.row_request_id(h, 2) != table_import.row_request_id(h, 3)


def test_a_nul_in_a_known_cell_is_that_rows_rejection_naming_the_column():
    positions = {"company": 0, "phone": 2}
    assert table_import.nul_rejections(7, ["A\x00", "ignored\x00", "1"], positions) == [
        table_import.Rejection(7, "company", "must not contain a NUL character")]
    assert table_import.nul_rejections(8, ["A"], positions) == []


@pytest.mark.parametrize("row", [leads_pb2.ImportRow, opportunities_pb2.ImportRow])
def test_the_front_lets_a_nul_cell_through_to_the_import_but_no_other_field(row):
    assert limits.violations(row(row_number=2, values=["a\x00b"])) == []
    assert [v.field for v in limits.violations(row(row_number=2, values=["x" * 20_001]))] == ["values[0]"]
    assert [v.field for v in limits.violations(leads_pb2.ImportHeader(file_name="a\x00"))] == ["file_name"]


def stream(*parts):
    for part in parts:
        yield leads_pb2.ImportLeadsRequest(**part)


def test_a_stream_is_a_header_then_rows():
    header, rows = table_import.read_stream(stream(
        {"header": leads_pb2.ImportHeader(columns=["company"])},
        {"rows": leads_pb2.ImportRows(rows=[leads_pb2.ImportRow(row_number=2, values=["甲"])])},
        {"rows": leads_pb2.ImportRows(rows=[leads_pb2.ImportRow(row_number=3, values=["乙"])])}))
    assert list(header.columns) == ["company"] and rows == [(2, ["甲"]), (3, ["乙"])]


@pytest.mark.parametrize(("parts", "field", "problem"), [
    ([], "header", "empty"),
    ([{"rows": leads_pb2.ImportRows()}], "header", "first message"),
    ([{"header": leads_pb2.ImportHeader()}, {"header": leads_pb2.ImportHeader()}], "header", "only the first"),
    ([{"header": leads_pb2.ImportHeader()},
      {"rows": leads_pb2.ImportRows(rows=[leads_pb2.ImportRow(row_number=n) for n in range(2, 6)])}], "rows",
     "at most 3 rows"),
])
def test_a_stream_out_of_order_or_too_long_is_refused_naming_the_part(parts, field, problem):
    with pytest.raises(InvalidArgument) as exc:
        table_import.read_stream(stream(*parts), max_rows=3)
    [violation] = exc.value.violations
    assert violation.field == field and problem in violation.description


def test_csv_in_utf8_with_bom_or_gb18030_is_read_with_line_numbers():
    text = "company,contact_name,phone\n\n杭州茶厂,王芳,13800138000\n"
    for data in (("\ufeff" + text).encode(), text.encode("gb18030")):
        assert table_import.read_table(data, "x.csv") == (["company", "contact_name", "phone"],
                                                          [(2, []), (3, ["杭州茶厂", "王芳", "13800138000"])])


def test_xlsx_cells_are_read_as_text():
    book = openpyxl.Workbook()
    book.active.append(["company", "contact_name", "phone"])
    book.active.append(["Acme", "Li", 13800138000])
    out = io.BytesIO()
    book.save(out)
    assert table_import.read_table(out.getvalue(), "x.xlsx") == (["company", "contact_name", "phone"],
                                                                 [(2, ["Acme", "Li", "13800138000"])])


@pytest.mark.parametrize(("data", "name", "problem"), [
    (b"%PDF-1.4\x00\x01\x02binary", "leads.pdf", "not a CSV"),
    (b"company,contact_name\n", "x.xlsx", "not an XLSX"),
    (b"PK\x03\x04broken zip", "x.xlsx", "not a readable XLSX"),
    (b"", "x.csv", "empty"),
])
def test_a_file_that_is_neither_csv_nor_xlsx_is_refused(data, name, problem):
    with pytest.raises(InvalidArgument) as exc:
        table_import.read_table(data, name)
    assert exc.value.violations[0].field == "file" and problem in exc.value.violations[0].description
