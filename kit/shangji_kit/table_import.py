"""Importing a table (a CSV or XLSX file, or the rows of a client stream): what every import shares.

A table is a header (column names) and numbered rows ``(row number in the file, values)``. Each import
(leads, customers, deals) says which columns it knows (``Columns``), turns each row into its own record
or into ``Rejection``s naming the column at fault, and reports per row. What is the same everywhere:

- reading a file: CSV (UTF-8, or GB18030 as a Chinese Excel saves it) or XLSX, told apart by content;
  INVALID_ARGUMENT on ``file`` when it is neither (``read_table``);
- reading a client stream: a header message first, then row messages, at most ``MAX_ROWS`` rows
  (``read_stream``);
- the header: columns found by name or alias in any case, a missing or repeated one refused on
  ``columns`` naming it (``Columns.positions``); row numbers each once and positive (``check_row_numbers``);
- a cell holding a NUL is that row's rejection, not the whole import's (``nul_rejections``): PostgreSQL
  stores no NUL, and one bad cell in a large file should not refuse every other row;
- the header's other fields: the owner ("users/{id}", the caller when empty) beside the columns and the
  row numbers, every bad one reported at once (``checked_header``);
- idempotence: the content's SHA-256 (``content_sha256``) and each row's key derived from it
  (``row_request_id``, or ``row_key`` in ``idempotency_keys``), so re-sending the same rows, from
  whatever file, by whoever, does nothing twice;
- the report's common part (``ImportReport``); ``all_or_nothing`` is each import's rule: any rejection,
  nothing written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from shangji_kit import names
from shangji_kit.errors import FieldViolation, InvalidArgument
from shangji_kit.request_ids import RequestKey

Row = tuple[int, list[str]]
# The caller of a row's key: rows belong to the content, not to whoever sent it.
ANY_CALLER = "*"

# A streamed import is held in memory until it is decided: a bound on what one call may send (a file of
# 100,000 rows imports in seconds; more is a batch job, split into files).
MAX_ROWS = 200_000


@dataclass(frozen=True)
class ImportTable:
    """An import as its use case takes it: header ``columns`` and ``rows`` of (row number in the file, values),
    the owner of what it makes ("users/{id}"; the caller when empty), ``all_or_nothing``, and the file's name
    (for the report only)."""

    columns: list[str]
    rows: list[Row]
    owner: str = ""
    all_or_nothing: bool = False
    file_name: str = ""


@dataclass(frozen=True)
class Rejection:
    row_number: int
    field: str
    reason: str


@dataclass
class ImportReport:
    """What every import answers; each import's report adds its own counts."""

    content_sha256: str = ""
    already_imported: int = 0
    # False when all_or_nothing and some row was rejected: nothing was written.
    committed: bool = False
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return len({r.row_number for r in self.rejections})


# --- the header -------------------------------------------------------------------------------------

def header_key(raw: str) -> str:
    """A column name as compared: case-folded, surrounding spaces dropped, inner spaces and hyphens as "_"."""
    return "_".join((raw or "").strip().casefold().replace("-", " ").split())


@dataclass(frozen=True)
class Columns:
    """The columns an import knows: ``required`` ones, groups of which at least one is required
    (``one_of``: phone or email), ``optional`` ones, and other spellings (``aliases``, keys as
    ``header_key`` gives them). Columns it does not know are ignored."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + tuple(f for group in self.one_of for f in group) + self.optional

    def positions(self, columns: list[str]) -> dict[str, int]:
        """Which position holds each known field; INVALID_ARGUMENT on ``columns`` naming every column that is
        missing or repeated."""
        known = set(self.fields)
        positions: dict[str, int] = {}
        problems = []
        for i, raw in enumerate(columns):
            key = header_key(raw)
            key = self.aliases.get(key, key)
            if key in known:
                if key in positions:
                    problems.append(f"column {key!r} appears twice")
                positions[key] = i
        missing = [f for f in self.required if f not in positions]
        missing += [" or ".join(group) for group in self.one_of if not any(f in positions for f in group)]
        if missing:
            problems.insert(0, f"missing required column(s): {', '.join(missing)} "
                               f"(got {', '.join(map(repr, columns))})")
        if problems:
            raise InvalidArgument.field("columns", "; ".join(problems))
        return positions


def check_row_numbers(rows: Iterable[Row], path: str = "rows") -> list[FieldViolation]:
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


def checked_header(columns: Columns, header: list[str], rows: list[Row], *, owner: str, caller_id: str | None
                   ) -> tuple[dict[str, int], str]:
    """The column positions and the owner's user id (``owner`` as "users/{id}", else the caller); every bad field
    of the header and every bad row number at once (INVALID_ARGUMENT, before anything is read or written). An
    operator's import (``caller_id`` None) must name the owner."""
    violations: list[FieldViolation] = []
    positions: dict[str, int] = {}
    owner_id = caller_id or ""
    try:
        positions = columns.positions(header)
    except InvalidArgument as exc:
        violations += exc.violations
    if owner:
        try:
            owner_id = names.parse(owner, "users", "owner")
        except InvalidArgument as exc:
            violations += exc.violations
    elif caller_id is None:
        violations.append(FieldViolation("owner", "required: users/{id} who will own what the import makes"))
    violations += check_row_numbers(rows)
    if violations:
        raise InvalidArgument(violations)
    return positions, owner_id


# --- rows -------------------------------------------------------------------------------------------

def is_blank(values: list[str]) -> bool:
    return not any((v or "").strip() for v in values)


def cell(values: list[str], positions: Mapping[str, int], name: str) -> str:
    """The row's value of a known field; "" when the column is absent or the row is short."""
    i = positions.get(name)
    return (values[i] or "") if i is not None and i < len(values) else ""


def nul_rejections(row_number: int, values: list[str], positions: Mapping[str, int]) -> list[Rejection]:
    """A rejection for each known column whose cell holds a NUL character."""
    return [Rejection(row_number, name, "must not contain a NUL character")
            for name in positions if "\x00" in cell(values, positions, name)]


def rejections(row_number: int, exc: InvalidArgument, columns: Mapping[str, str] | None = None) -> list[Rejection]:
    """A domain's refusal of a row as its rejections, each field named by its column (``columns`` maps a
    domain's field path to the column; a path it does not list is named as it is)."""
    columns = columns or {}
    return [Rejection(row_number, columns.get(v.field, v.field), v.description) for v in exc.violations]


# --- idempotence ------------------------------------------------------------------------------------

def content_sha256(columns: list[str], rows: Iterable[Row]) -> str:
    """A hash of the table's content: the same rows give the same hash whatever file carried them."""
    digest = hashlib.sha256(json.dumps(columns, ensure_ascii=False).encode())
    for number, values in rows:
        digest.update(b"\n" + json.dumps([number, values], ensure_ascii=False).encode())
    return digest.hexdigest()


def row_request_id(content_hash: str, row_number: int) -> str:
    """A row's idempotency key, stored with what the row made."""
    return "import:" + hashlib.sha256(f"{content_hash}:{row_number}".encode()).hexdigest()[:48]


def row_key(operation: str, content_hash: str, row_number: int) -> RequestKey:
    """A row's key in ``idempotency_keys`` (``shangji_kit.request_ids``): the content's, whoever sends it."""
    return RequestKey(ANY_CALLER, operation, row_request_id(content_hash, row_number))


# --- a client stream --------------------------------------------------------------------------------

def read_stream(requests: Iterable, max_rows: int = MAX_ROWS) -> tuple[object, list[Row]]:
    """(the header message, the rows) of an import's client stream: messages with a ``part`` oneof of
    ``header`` (the first message, and only it) and ``rows`` (``ImportRows``). INVALID_ARGUMENT naming
    ``header`` or ``rows`` otherwise; reading stops at the first problem."""
    header = None
    rows: list[Row] = []
    for request in requests:
        part = request.WhichOneof("part")
        if header is None:
            if part != "header":
                raise InvalidArgument.field("header", "the first message must be the header")
            header = request.header
        elif part == "header":
            raise InvalidArgument.field("header", "only the first message may be a header")
        elif part == "rows":
            if len(rows) + len(request.rows.rows) > max_rows:
                raise InvalidArgument.field("rows", f"at most {max_rows} rows in one import; split the file")
            rows.extend((row.row_number, list(row.values)) for row in request.rows.rows)
    if header is None:
        raise InvalidArgument.field("header", "required: the stream was empty")
    return header, rows


# --- a file -----------------------------------------------------------------------------------------

_ZIP = b"PK\x03\x04"
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


def _refuse(problem: str) -> InvalidArgument:
    return InvalidArgument.field("file", problem)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed into a numeric cell
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _numbered(rows: Iterator[Row]) -> tuple[list[str], list[Row]]:
    """The first non-blank row is the header; later rows keep their line (or sheet row) number."""
    header: list[str] | None = None
    body: list[Row] = []
    for number, values in rows:
        if header is None:
            if any(v.strip() for v in values):
                header = [v.strip() for v in values]
            continue
        body.append((number, values))
    if header is None:
        raise _refuse("the file is empty: no header row")
    return header, body


def _read_xlsx(data: bytes) -> tuple[list[str], list[Row]]:
    import openpyxl  # only imports pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _refuse(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheet = book.worksheets[0]
        return _numbered((n, [_cell_text(v) for v in row])
                         for n, row in enumerate(sheet.iter_rows(values_only=True), start=1))
    finally:
        book.close()


def _read_csv(data: bytes) -> tuple[list[str], list[Row]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # what a Chinese Excel saves as "CSV"
        except UnicodeDecodeError:
            raise _refuse("not a CSV file: neither UTF-8 nor GB18030 text") from None
    if any(ch in _CONTROL for ch in text[:65536]):
        raise _refuse("not a CSV file: it holds binary data")
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        return _numbered((reader.line_num, row) for row in reader)
    except csv.Error as exc:
        raise _refuse(f"not a readable CSV file: {exc}") from None


def read_table(data: bytes, file_name: str = "") -> tuple[list[str], list[Row]]:
    """(header, [(row number, values)]) of a CSV (UTF-8, or GB18030) or XLSX file, told apart by content."""
    if data.startswith(_ZIP):
        return _read_xlsx(data)
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        raise _refuse(f"{file_name} is not an XLSX workbook (no zip container)")
    return _read_csv(data)
