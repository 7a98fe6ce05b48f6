"""Importing leads from a table (a CSV or XLSX file's rows): columns, row validation, idempotency keys,
the report. Plain Python; the service layer decides duplicates (dedupe.py) and writes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from leads.domain import model
from shangji_kit.errors import FieldViolation, InvalidArgument

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


def _header_key(raw: str) -> str:
    key = "_".join(raw.strip().casefold().replace("-", " ").split())
    return ALIASES.get(key, key)


def column_map(columns: list[str]) -> dict[str, int]:
    """Which position holds each known field; INVALID_ARGUMENT on ``columns`` naming what is missing
    (company, contact_name, and phone or email) or repeated."""
    positions: dict[str, int] = {}
    problems = []
    for i, raw in enumerate(columns):
        key = _header_key(raw or "")
        if key in FIELDS:
            if key in positions:
                problems.append(f"column {key!r} appears twice")
            positions[key] = i
    missing = [f for f in REQUIRED if f not in positions]
    if not any(f in positions for f in CONTACT):
        missing.append("phone or email")
    if missing:
        problems.insert(0, f"missing required column(s): {', '.join(missing)} (got {', '.join(map(repr, columns))})")
    if problems:
        raise InvalidArgument.field("columns", "; ".join(problems))
    return positions


def content_sha256(columns: list[str], rows: list[tuple[int, list[str]]]) -> str:
    """A hash of the table's content: the same rows give the same hash whatever file carried them."""
    digest = hashlib.sha256(json.dumps(columns, ensure_ascii=False).encode())
    for number, values in rows:
        digest.update(b"\n" + json.dumps([number, values], ensure_ascii=False).encode())
    return digest.hexdigest()


def check_row_numbers(rows: list[tuple[int, list[str]]], path: str = "rows") -> list[FieldViolation]:
    """Each row number once and positive: a row's number is its identity (its idempotency key, the report's
    rejections), so a repeated one would make two rows one."""
    violations = []
    first: dict[int, int] = {}
    for i, (number, _) in enumerate(rows):
        if number < 1:
            violations.append(FieldViolation(f"{path}[{i}].row_number", f"must be at least 1, not {number}"))
        elif number in first:
            violations.append(FieldViolation(f"{path}[{i}].row_number",
                                             f"row {number} again (first at {path}[{first[number]}])"))
        else:
            first[number] = i
    return violations


def row_request_id(content_hash: str, row_number: int) -> str:
    """A row's idempotency key (stored as the lead's or the merge's request_id)."""
    return "import:" + hashlib.sha256(f"{content_hash}:{row_number}".encode()).hexdigest()[:48]


@dataclass(frozen=True)
class Rejection:
    row_number: int
    field: str
    reason: str


@dataclass(frozen=True)
class Row:
    """A valid row, as the lead it would create."""

    row_number: int
    request_id: str
    lead: model.Lead


def is_blank(values: list[str]) -> bool:
    return not any((v or "").strip() for v in values)


def parse_row(row_number: int, values: list[str], positions: dict[str, int], *, id: str, owner_id: str | None,
              now: datetime, campaign_id: str | None = None,
              imported_by: str | None = None) -> model.Lead | list[Rejection]:
    """The lead a row describes, or every reason it cannot be one (field named by column)."""
    def value(name: str) -> str:
        i = positions.get(name)
        return (values[i] or "") if i is not None and i < len(values) else ""

    try:
        return model.new_lead(id=id, company=value("company"), contact_name=value("contact_name"),
                              phone=value("phone"), email=value("email"), region=value("region"),
                              source=value("source"), industry=value("industry"), owner_id=owner_id, now=now,
                              contact_title=value("contact_title"), company_size=value("company_size"),
                              notes=value("notes"), campaign_id=campaign_id, created_by=imported_by,
                              imported=True)
    except InvalidArgument as exc:
        return [Rejection(row_number, v.field.removeprefix("lead."), v.description) for v in exc.violations]


@dataclass
class ImportReport:
    content_sha256: str = ""
    accepted: int = 0
    merged: int = 0
    flagged: int = 0
    already_imported: int = 0
    # New leads given to reps by the assignment rules (an import into the pool with auto_assign).
    assigned: int = 0
    committed: bool = False
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return len({r.row_number for r in self.rejections})


@dataclass(frozen=True)
class LeadsImported:
    report: ImportReport
    file_name: str
    imported_by: str | None
    import_time: datetime
