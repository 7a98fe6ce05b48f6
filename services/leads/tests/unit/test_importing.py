from datetime import UTC, datetime

import pytest

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


def test_a_cell_holding_a_nul_rejects_its_row_naming_the_column():
    positions = importing.column_map(["company", "contact_name", "phone", "email"])
    rejected = importing.parse_row(4, ["Acme\x00", "Li Lei", "13800138000", ""], positions, id="x", owner_id=None,
                                   now=NOW)
    assert [(r.row_number, r.field) for r in rejected] == [(4, "company")]
