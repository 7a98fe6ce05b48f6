"""Exports (issue 13): a list's rows written as a CSV or XLSX file and cut into chunks, once for every service.

A service declares its columns (a title and how to read a cell from one of its rows) and hands over an
``Export``: the row count and the rows, read lazily in keyset batches by ``all_pages`` through the very
``list_visible`` its List RPC calls, each batch in a transaction of its own (no OFFSET, and no connection
held while a slow client reads). Memory stays bounded whatever the list's size: one batch of rows and one
chunk of bytes (XLSX rows go to temporary files, XlsxWriter's constant_memory mode).

- CSV: UTF-8 with a byte-order mark (spreadsheet programs then read Chinese right), RFC 4180 (CRLF, quotes
  where needed), a header row. A text cell that starts with ``= + - @`` (or a tab or carriage return) gets a
  leading apostrophe, so a spreadsheet opening the file never runs it as a formula (OWASP "CSV injection");
  numbers are not text and stay as they are (a negative amount is -5, not '-5).
- XLSX: one sheet, a bold frozen header row; text is always written as a string cell, never as a formula,
  so it needs no guard and reads back exactly as stored. Times are real date cells.
- Times are shown in the company's time zone (``company_time``), as a reader of the file expects.

The first chunk carries the row count (counted when the export began: rows that change during a long
export may make the last ``rows_written`` differ from it), the content type and a file name. An XLSX file
only exists once every row is in (a zip archive is written at the end), so until then its chunks carry no
bytes, only ``rows_written``, which is what a progress bar needs.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

import xlsxwriter

from shangji_kit import company_time
from shangji_kit.errors import FailedPrecondition
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page

T = TypeVar("T")

Cell = str | int | float | Decimal | bool | date | datetime | None

# Rows read per transaction; a batch is one keyset page of the list's own query.
BATCH_ROWS = 1000
# Characters per chunk (at most three times as many bytes): far below gRPC's 4 MiB message limit, large enough
# that framing costs nothing.
CHUNK_BYTES = 64 * 1024
# A sheet holds 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_575
# Starts of a text cell a spreadsheet would take for a formula (OWASP: = + - @, tab, carriage return).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class Format(enum.Enum):
    CSV = ("text/csv", "csv")
    XLSX = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")

    @property
    def content_type(self) -> str:
        return self.value[0]

    @property
    def extension(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column of a file: its header and how one row's cell is read."""

    title: str
    value: Callable[[T], Cell]


@dataclass(frozen=True)
class Export(Generic[T]):
    """What a use case hands the writer: how many rows (counted first) and the rows (read as they are written)."""

    total_rows: int
    rows: Iterator[T]


@dataclass(frozen=True)
class Chunk:
    """A piece of the file; the first one also names the file (``total_rows``, ``content_type``, ``file_name``)."""

    data: bytes
    rows_written: int
    total_rows: int = 0
    content_type: str = ""
    file_name: str = ""


def all_pages(query: ListQuery, read_page: Callable[[ListQuery], Page[T]], batch_rows: int | None = None
              ) -> Iterator[T]:
    """Every row of a list, read a batch at a time by ``read_page`` (the List use case's read, in a transaction of
    its own) after the last batch's keyset token: the rows the List RPC gives page by page, in its order."""
    token = ""
    while True:
        page = read_page(dataclasses.replace(query, page_token=token, limit=batch_rows or BATCH_ROWS))
        yield from page.items
        token = page.next_page_token
        if not token:
            return


def file_name(stem: str, fmt: Format, now: datetime) -> str:
    """``leads-20261205-143000.csv``: what the list is and when it was taken, in the company's time."""
    return f"{stem}-{now.astimezone(company_time.zone()):%Y%m%d-%H%M%S}.{fmt.extension}"


def chunks(columns: Sequence[Column[T]], export: Export[T], fmt: Format, stem: str, now: datetime
           ) -> Iterator[Chunk]:
    """The file of ``export``'s rows in ``fmt``, in chunks; FAILED_PRECONDITION (before any chunk) when an XLSX
    sheet cannot hold them."""
    if fmt is Format.XLSX and export.total_rows > XLSX_MAX_ROWS:
        raise FailedPrecondition(f"{export.total_rows} rows do not fit in one XLSX sheet "
                                 f"({XLSX_MAX_ROWS} at most); export CSV or narrow the filter",
                                 reason="EXPORT_TOO_LARGE_FOR_XLSX",
                                 violations=[("FORMAT", f"XLSX holds {XLSX_MAX_ROWS} rows at most")])
    body = _csv(columns, export.rows) if fmt is Format.CSV else _xlsx(columns, export.rows)
    first = True
    for data, written in body:
        if first:
            yield Chunk(data, written, export.total_rows, fmt.content_type, file_name(stem, fmt, now))
            first = False
        else:
            yield Chunk(data, written)


# --- CSV ---------------------------------------------------------------------------------------------

def guarded(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet will show, never evaluate."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return guarded(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(company_time.zone()).strftime(TIME_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _csv(columns: Sequence[Column[T]], rows: Iterator[T]) -> Iterator[tuple[bytes, int]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # QUOTE_MINIMAL with doubled quotes: RFC 4180
    buffer.write("\ufeff")
    writer.writerow([guarded(c.title) for c in columns])
    # The header at once: the client learns the row count before the first batch is read.
    yield buffer.getvalue().encode("utf-8"), 0
    buffer.seek(0)
    buffer.truncate()
    written = 0
    for row in rows:
        writer.writerow([csv_text(c.value(row)) for c in columns])
        written += 1
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8"), written
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8"), written


# --- XLSX --------------------------------------------------------------------------------------------

def _xlsx(columns: Sequence[Column[T]], rows: Iterator[T]) -> Iterator[tuple[bytes, int]]:
    zone = company_time.zone()
    with tempfile.TemporaryDirectory(prefix="shangji-export-") as tmp:
        path = os.path.join(tmp, "export.xlsx")
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "tmpdir": tmp})
        try:
            sheet = book.add_worksheet()
            header = book.add_format({"bold": True})
            formats = {datetime: book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
                       date: book.add_format({"num_format": "yyyy-mm-dd"})}
            for i, column in enumerate(columns):
                sheet.set_column(i, i, max(10, min(40, len(column.title) + 2)))
                sheet.write_string(0, i, column.title, header)
            sheet.freeze_panes(1, 0)
            yield b"", 0
            written = 0
            for row in rows:
                if written >= XLSX_MAX_ROWS:
                    break  # the list grew past a sheet since it was counted
                written += 1
                for i, column in enumerate(columns):
                    _write_cell(sheet, written, i, column.value(row), formats, zone)
                if written % BATCH_ROWS == 0:
                    yield b"", written
        finally:
            book.close()
        with open(path, "rb") as f:
            while data := f.read(CHUNK_BYTES):
                yield data, written


def _write_cell(sheet, row: int, col: int, value: Cell, formats: dict, zone) -> None:
    if value is None or value == "":
        return
    if isinstance(value, str):
        sheet.write_string(row, col, value)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value.astimezone(zone).replace(tzinfo=None), formats[datetime])
    elif isinstance(value, date):
        sheet.write_datetime(row, col, value, formats[date])
    else:
        sheet.write_number(row, col, float(value))
