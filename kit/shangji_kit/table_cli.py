"""An operator's import command: read a CSV or XLSX file (``table_import.read_table``), run a service's
import on it and print the report. Every service's ``import...`` command behaves alike:

- stdout: ``<file>: committed; <counts>`` (or ``NOT committed (all or nothing)``), then
  ``  row N: <column>: <reason>`` per rejection;
- stderr: the rows read, or why the file or the import was refused (every bad field);
- exit status 0 when every row went in (or was already imported), 1 when rows were rejected, 2 when the
  file or the import was refused (nothing written).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from shangji_kit import table_import
from shangji_kit.errors import DomainError

# (columns, rows) -> (the report, its counts in words)
Run = Callable[[list[str], list[table_import.Row]], tuple[table_import.ImportReport, str]]


def import_file(path: Path, run: Run) -> int:
    try:
        columns, rows = table_import.read_table(path.read_bytes(), path.name)
        sys.stderr.write(f"{path.name}: {len(rows)} rows read\n")
        report, counts = run(columns, rows)
    except DomainError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        for v in getattr(exc, "violations", []):
            if hasattr(v, "field"):
                print(f"  {v.field}: {v.description}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    print(f"{path.name}: {'committed' if report.committed else 'NOT committed (all or nothing)'}; {counts}")
    for r in report.rejections:
        print(f"  row {r.row_number}: {r.field}: {r.reason}")
    return 1 if report.rejections else 0
