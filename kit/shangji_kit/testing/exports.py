"""Reading an export stream back in tests: the chunks joined into the file, then parsed as a spreadsheet would
(CSV with the csv module after its byte-order mark, XLSX with openpyxl), so tests compare cells, not bytes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openpyxl
from openpyxl.utils.escape import unescape

from shangji_kit import company_time
from shangji_kit.export import TIME_FORMAT

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class ExportFile:
    chunks: list[Any]
    data: bytes
    header: list[str]
    rows: list[list[Any]]
    cell_types: list[list[str]]  # XLSX only: openpyxl's data_type of each row's cells ("s", "n", "d", "f")

    @property
    def first(self):
        return self.chunks[0]

    def column(self, title: str) -> list[Any]:
        i = self.header.index(title)
        return [row[i] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.header, row, strict=True)) for row in self.rows]


def _cell(value: Any) -> Any:
    """An XLSX cell's value as Excel shows it: control characters are stored escaped (``_x000D_``), which Excel
    decodes and openpyxl does not."""
    if value is None:
        return ""
    return unescape(value) if isinstance(value, str) else value


def read_export(responses: Iterable[Any]) -> ExportFile:
    """Every chunk of an export call, the file they make, and its header and rows (cells as the format reads them:
    text for CSV, typed values for XLSX, "" for an empty cell in both)."""
    chunks = list(responses)
    data = b"".join(c.data for c in chunks)
    if chunks[0].content_type == XLSX_TYPE:
        book = openpyxl.load_workbook(io.BytesIO(data))
        sheet = book.worksheets[0]
        cells = [list(r) for r in sheet.iter_rows()]
        values = [[_cell(c.value) for c in r] for r in cells]
        return ExportFile(chunks, data, values[0], values[1:], [[c.data_type for c in r] for r in cells[1:]])
    assert data.startswith("\ufeff".encode()), "a CSV export starts with a UTF-8 byte-order mark"
    lines = list(csv.reader(io.StringIO(data.decode("utf-8")[1:], newline="")))
    return ExportFile(chunks, data, lines[0], lines[1:], [])


def read_saved(path: Path) -> ExportFile:
    """A file an export client saved, parsed by its suffix."""
    whole = SimpleNamespace(data=path.read_bytes(), content_type=XLSX_TYPE if path.suffix == ".xlsx" else "text/csv",
                            rows_written=0, total_rows=0, file_name=path.name)
    return read_export([whole])


def shown_time(value: datetime | None) -> str:
    """A time as a CSV export shows it (the company's time zone)."""
    return value.astimezone(company_time.zone()).strftime(TIME_FORMAT) if value else ""


def xlsx_same_time(cell: Any, value: datetime | None) -> bool:
    """Whether an XLSX cell holds ``value`` as the export writes it: the company's wall-clock time, to Excel's
    precision (a millisecond); an empty cell for no time."""
    if not value:
        return cell == ""
    local = value.astimezone(company_time.zone()).replace(tzinfo=None)
    return isinstance(cell, datetime) and abs(cell - local) <= timedelta(milliseconds=1)
