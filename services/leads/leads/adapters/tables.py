"""Reading an import file (CSV or XLSX) into a header and numbered rows. INVALID_ARGUMENT on ``file``
naming the problem when it is neither."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

from shangji_kit.errors import InvalidArgument

_ZIP = b"PK\x03\x04"
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


def _refuse(problem: str) -> InvalidArgument:
    return InvalidArgument.field("file", problem)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed into a numeric cell
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _numbered(rows) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The first non-blank row is the header; later rows keep their line (or sheet row) number."""
    header: list[str] | None = None
    body: list[tuple[int, list[str]]] = []
    for number, values in rows:
        if header is None:
            if any(v.strip() for v in values):
                header = [v.strip() for v in values]
            continue
        body.append((number, values))
    if header is None:
        raise _refuse("the file is empty: no header row")
    return header, body


def _read_xlsx(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    import openpyxl  # only imports pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _refuse(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheet = book.worksheets[0]
        return _numbered((n, [_cell(v) for v in row])
                         for n, row in enumerate(sheet.iter_rows(values_only=True), start=1))
    finally:
        book.close()


def _read_csv(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
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


def read_table(data: bytes, file_name: str = "") -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(row number, values)]) of a CSV (UTF-8, or GB18030) or XLSX file, told apart by content."""
    if data.startswith(_ZIP):
        return _read_xlsx(data)
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        raise _refuse(f"{file_name} is not an XLSX workbook (no zip container)")
    return _read_csv(data)
