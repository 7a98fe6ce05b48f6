"""The export writer without I/O (``shangji_kit.export``): CSV as RFC 4180 with a BOM and the formula guard, XLSX
read back by openpyxl, chunks that join into the file, keyset batches, and the client that saves a stream."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from shangji_kit import export, filtering
from shangji_kit.errors import FailedPrecondition, InvalidArgument
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page
from shangji_kit.rpc import export as export_rpc
from shangji_kit.testing.exports import read_export, read_saved, shown_time, xlsx_same_time

NOW = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)


@dataclass
class Row:
    text: str
    amount: Decimal | None
    count: int
    when: datetime | None
    day: date | None


COLUMNS = [export.Column("Text", lambda r: r.text), export.Column("Amount", lambda r: r.amount),
           export.Column("Count", lambda r: r.count), export.Column("When", lambda r: r.when),
           export.Column("Day", lambda r: r.day)]


def file_of(rows: list[Row], fmt: export.Format, total: int | None = None):
    chunks = list(export.chunks(COLUMNS, export.Export(len(rows) if total is None else total, iter(rows)), fmt,
                                "things", NOW))
    return read_export(chunks)  # a service's ExportChunk has the same fields


ROWS = [Row("华创精密，\"引号\"\r\n第二行", Decimal("-1234.50"), -3, NOW, date(2026, 12, 31)),
        Row("=1+1", None, 0, None, None), Row("+86 138", Decimal("0.10"), 7, NOW, None),
        Row("-x", Decimal("5"), 1, NOW, None), Row("@SUM(A1)", None, 2, None, None), Row("\tTab", None, 3, None, None),
        Row("plain text", None, 4, None, None)]


def test_csv_is_utf8_with_a_bom_rfc4180_and_guards_formula_starts():
    got = file_of(ROWS, export.Format.CSV)
    assert got.data.startswith(b"\xef\xbb\xbfText,Amount,Count,When,Day\r\n")
    assert got.column("Text") == ["华创精密，\"引号\"\r\n第二行", "'=1+1", "'+86 138", "'-x", "'@SUM(A1)", "'\tTab",
                                  "plain text"]
    assert got.column("Amount") == ["-1234.50", "", "0.10", "5", "", "", ""]  # numbers are never prefixed
    assert got.column("Count")[0] == "-3"
    assert got.column("When")[0] == shown_time(NOW) == "2026-12-05 14:30:00"  # the company's time (Shanghai)
    assert got.column("Day")[0] == "2026-12-31"
    assert b'"\xe5\x8d\x8e\xe5\x88\x9b\xe7\xb2\xbe\xe5\xaf\x86\xef\xbc\x8c""' in got.data  # a quote doubled, in quotes
    assert got.first.content_type == "text/csv" and got.first.file_name == "things-20261205-143000.csv"


def test_xlsx_holds_typed_cells_and_text_never_becomes_a_formula():
    got = file_of(ROWS, export.Format.XLSX)
    assert got.header == ["Text", "Amount", "Count", "When", "Day"]
    assert got.column("Text") == [r.text for r in ROWS]  # as stored: Chinese, quotes, line breaks, "=1+1"
    assert {types[0] for types in got.cell_types} == {"s"}
    assert got.column("Amount")[0] == -1234.5 and got.column("Count")[0] == -3
    assert xlsx_same_time(got.column("When")[0], NOW) and got.column("Day")[0] == datetime(2026, 12, 31)
    assert got.first.file_name.endswith(".xlsx") and got.first.total_rows == len(ROWS)


def test_chunks_join_into_the_file_and_count_rows(monkeypatch):
    monkeypatch.setattr(export, "CHUNK_BYTES", 64)
    monkeypatch.setattr(export, "BATCH_ROWS", 3)
    rows = [Row(f"行 {i}", Decimal(i), i, NOW, None) for i in range(50)]
    for fmt in export.Format:
        got = file_of(rows, fmt)
        counts = [str(i) for i in range(50)] if fmt is export.Format.CSV else list(range(50))
        assert [r[2] for r in got.rows] == counts
        written = [c.rows_written for c in got.chunks]
        assert written == sorted(written) and written[-1] == 50 and len(got.chunks) > 5
        assert got.first.total_rows == 50 and all(c.total_rows == 0 and not c.file_name for c in got.chunks[1:])
        assert got.chunks[0].rows_written == 0  # the first chunk comes before any row is read


def test_an_xlsx_too_long_for_one_sheet_is_refused_before_any_chunk():
    with pytest.raises(FailedPrecondition) as exc:
        next(export.chunks(COLUMNS, export.Export(export.XLSX_MAX_ROWS + 1, iter(())), export.Format.XLSX, "x", NOW))
    assert exc.value.reason == "EXPORT_TOO_LARGE_FOR_XLSX"
    assert next(export.chunks(COLUMNS, export.Export(export.XLSX_MAX_ROWS + 1, iter(())), export.Format.CSV, "x",
                              NOW)).total_rows == export.XLSX_MAX_ROWS + 1


def test_all_pages_follows_the_keyset_tokens_batch_by_batch():
    seen: list[tuple[str, int]] = []

    def read(query: ListQuery) -> Page[int]:
        seen.append((query.page_token, query.limit))
        start = int(query.page_token or 0)
        items = list(range(start, min(start + query.limit, 7)))
        return Page(items, str(start + query.limit) if start + query.limit < 7 else "")

    query = ListQuery(filtering.parse_filter(""), "create_time desc", "", 50)
    assert list(export.all_pages(query, read, batch_rows=3)) == list(range(7))
    assert seen == [("", 3), ("3", 3), ("6", 3)]


def test_the_format_numbers_of_every_contract():
    assert export_rpc.export_format(0) is export.Format.CSV and export_rpc.export_format(1) is export.Format.CSV
    assert export_rpc.export_format(2) is export.Format.XLSX
    with pytest.raises(InvalidArgument) as exc:
        export_rpc.export_format(3)
    assert exc.value.violations[0].field == "format"


def test_save_writes_the_file_under_the_servers_name_with_progress(tmp_path: Path):
    chunks = [export.Chunk(b"\xef\xbb\xbfA\r\n", 0, 2, "text/csv", "a-1.csv"), export.Chunk(b"1\r\n", 1),
              export.Chunk(b"2\r\n", 2)]
    progress: list[tuple[str, int, int]] = []
    path, rows = export_rpc.save(iter(chunks), tmp_path, lambda *a: progress.append(a))
    assert path == tmp_path / "a-1.csv" and rows == 2 and read_saved(path).column("A") == ["1", "2"]
    assert progress == [("a-1.csv", 0, 2), ("a-1.csv", 1, 2), ("a-1.csv", 2, 2)]


def test_a_server_file_name_never_leads_outside_the_directory(tmp_path: Path):
    (tmp_path / "out").mkdir()
    chunks = [export.Chunk(b"x", 0, 0, "text/csv", "../../evil.csv")]
    path, _ = export_rpc.save(iter(chunks), tmp_path / "out", lambda *a: None)
    assert path == tmp_path / "out" / "evil.csv" and path.read_bytes() == b"x"


def test_a_stream_that_fails_midway_leaves_no_file(tmp_path: Path):
    def broken():
        yield export.Chunk(b"\xef\xbb\xbfA\r\n", 0, 2, "text/csv", "a-1.csv")
        raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError):
        export_rpc.save(broken(), tmp_path / "out.csv", lambda *a: None)
    assert list(tmp_path.iterdir()) == []


def test_the_progress_bar_fills_with_the_rows():
    out = io.StringIO()
    export_rpc.progress_bar("f.csv", 5, 10, out, width=10)
    export_rpc.progress_bar("f.csv", 0, 0, out, width=10)
    assert out.getvalue() == "\rf.csv [#####.....] 5/10 rows\rf.csv [##########] 0/0 rows"


def test_a_process_serves_a_bounded_number_of_exports_at_once(monkeypatch):
    import threading

    from shangji_kit.errors import Unavailable

    monkeypatch.setattr(export_rpc, "_running", threading.BoundedSemaphore(1))

    def start():
        return export_rpc.stream(export.Chunk, COLUMNS, export.Export(1, iter(ROWS[:1])), export.Format.CSV, "x", NOW)

    first = start()
    next(first)  # running: holds the one slot
    with pytest.raises(Unavailable) as exc:
        next(start())
    assert exc.value.reason == "EXPORTS_BUSY"
    assert [c.rows_written for c in first] == [1]  # finished: the slot is free again
    assert next(start()).total_rows == 1
    abandoned = start()
    next(abandoned)
    abandoned.close()  # a client that goes away frees its slot too
    assert next(start()).total_rows == 1
