"""Importing leads from a table (a CSV or XLSX file's rows): the columns, a row as a lead, the report.
Plain Python; what every import shares (the header, row numbers, idempotency keys) is the kit's
``table_import``; the service layer decides duplicates (dedupe.py) and writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leads.domain import model
from shangji_kit import table_import
from shangji_kit.errors import InvalidArgument

REQUIRED = ("company", "contact_name")
CONTACT = ("phone", "email")
OPTIONAL = ("region", "source", "industry", "contact_title", "company_size", "notes")
FIELDS = REQUIRED + CONTACT + OPTIONAL
# Header spellings accepted besides the field names themselves (compared case-folded, spaces and
# hyphens as underscores).
ALIASES = {
    "company_name": "company", "公司": "company", "公司名称": "company", "企业名称": "company",
    "contact": "contact_name", "name": "contact_name", "联系人": "contact_name", "姓名": "contact_name",
    "mobile": "phone", "tel": "phone", "telephone": "phone", "电话": "phone", "手机": "phone", "手机号": "phone",
    "e_mail": "email", "邮箱": "email", "电子邮件": "email",
    "地区": "region", "区域": "region", "来源": "source", "渠道": "source", "行业": "industry",
    "title": "contact_title", "job_title": "contact_title", "职位": "contact_title", "职务": "contact_title",
    "size": "company_size", "规模": "company_size", "企业规模": "company_size", "公司规模": "company_size",
    "note": "notes", "备注": "notes",
}


COLUMNS = table_import.Columns(required=REQUIRED, one_of=(CONTACT,), optional=OPTIONAL, aliases=ALIASES)


def column_map(columns: list[str]) -> dict[str, int]:
    """Which position holds each known field; INVALID_ARGUMENT on ``columns`` naming what is missing
    (company, contact_name, and phone or email) or repeated."""
    return COLUMNS.positions(columns)


@dataclass(frozen=True)
class Row:
    """A valid row, as the lead it would create."""

    row_number: int
    request_id: str
    lead: model.Lead


def parse_row(row_number: int, values: list[str], positions: dict[str, int], *, id: str, owner_id: str | None,
              now: datetime, campaign_id: str | None = None,
              imported_by: str | None = None) -> model.Lead | list[table_import.Rejection]:
    """The lead a row describes, or every reason it cannot be one (field named by column)."""
    bad_cells = table_import.nul_rejections(row_number, values, positions)
    if bad_cells:
        return bad_cells

    def value(name: str) -> str:
        return table_import.cell(values, positions, name)

    try:
        return model.new_lead(id=id, company=value("company"), contact_name=value("contact_name"),
                              phone=value("phone"), email=value("email"), region=value("region"),
                              source=value("source"), industry=value("industry"), owner_id=owner_id, now=now,
                              contact_title=value("contact_title"), company_size=value("company_size"),
                              notes=value("notes"), campaign_id=campaign_id, created_by=imported_by,
                              imported=True)
    except InvalidArgument as exc:
        return [table_import.Rejection(row_number, v.field.removeprefix("lead."), v.description)
                for v in exc.violations]


@dataclass
class ImportReport(table_import.ImportReport):
    accepted: int = 0
    merged: int = 0
    flagged: int = 0
    # New leads given to reps by the assignment rules (an import into the pool with auto_assign).
    assigned: int = 0


@dataclass(frozen=True)
class LeadsImported:
    report: ImportReport
    file_name: str
    imported_by: str | None
    import_time: datetime
