"""Exports over gRPC, both ends: a server-streaming RPC's ``ExportChunk`` messages from ``shangji_kit.export``'s
chunks, and a client that saves such a stream to a file with a progress bar (the services' ``cli export``).

Every service's contract has its own ``ExportFormat`` and ``ExportChunk`` (same numbers and fields), so both
are handled here by value and by field name.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import grpc

from shangji_kit import export, settings
from shangji_kit.errors import InvalidArgument, Unavailable
from shangji_kit.rpc.client import channel, metadata
from shangji_kit.rpc.status import details_of

_FORMATS = {0: export.Format.CSV, 1: export.Format.CSV, 2: export.Format.XLSX}
FORMAT_NAMES = {"csv": 1, "xlsx": 2}


def export_format(value: int) -> export.Format:
    """An ``ExportFormat`` of any service's contract: CSV when unspecified; any other number is INVALID_ARGUMENT."""
    try:
        return _FORMATS[value]
    except KeyError:
        raise InvalidArgument.field("format", "must be EXPORT_FORMAT_CSV or EXPORT_FORMAT_XLSX") from None


_running: threading.BoundedSemaphore | None = None
_running_lock = threading.Lock()


def _slots() -> threading.BoundedSemaphore:
    global _running
    with _running_lock:
        if _running is None:
            _running = threading.BoundedSemaphore(settings.exports_at_once())
        return _running


def stream(chunk_type: type, columns: list[export.Column], source: export.Export, fmt: export.Format, stem: str,
           now: datetime) -> Iterator[Any]:
    """The ``chunk_type`` messages of ``source``'s file (the servicer method yields from this).

    An export holds one of the front's threads for as long as the client reads, so a process serves at most
    SHANGJI_EXPORTS_AT_ONCE of them together; one more is UNAVAILABLE (``EXPORTS_BUSY``, retry) before its first
    chunk, and the other calls keep their threads."""
    slots = _slots()
    if not slots.acquire(blocking=False):
        raise Unavailable("as many exports as this server runs at once are running; retry in a moment",
                          reason="EXPORTS_BUSY")
    try:
        for c in export.chunks(columns, source, fmt, stem, now):
            yield chunk_type(data=c.data, rows_written=c.rows_written, total_rows=c.total_rows,
                             content_type=c.content_type, file_name=c.file_name)
    finally:
        slots.release()


# --- the client side ----------------------------------------------------------------------------------

def progress_bar(label: str, done: int, total: int, out: TextIO | None = None, width: int = 30) -> None:
    """One line redrawn in place (on stderr by default): ``label [#####.....] done/total rows``."""
    out = out or sys.stderr
    filled = width * min(done, total) // total if total else width
    out.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows")
    out.flush()


def save(responses: Iterable[Any], output: Path | None, progress: Callable[[str, int, int], None] = progress_bar
         ) -> tuple[Path, int]:
    """Write an export stream to ``output`` (a file, or a directory for the server's file name; the current
    directory when None); ``progress(file_name, rows_written, total_rows)`` after each chunk. The path and rows.

    The bytes go to a temporary name beside the target, renamed only once the stream ended well, so a failed
    export never leaves a truncated file under the real name."""
    target: Path | None = None
    part: Path | None = None
    f = None
    total = written = 0
    try:
        for chunk in responses:
            if f is None:
                total = chunk.total_rows
                if output is None or output.is_dir():
                    # The name only: a file name with a path in it never writes outside the directory.
                    target = (output or Path.cwd()) / (Path(chunk.file_name).name or "export")
                else:
                    target = output
                part = target.with_name(target.name + ".part")
                f = open(part, "wb")  # noqa: SIM115 (closed below, after the rename decision)
            f.write(chunk.data)
            written = chunk.rows_written
            progress(target.name, written, total)
    except BaseException:
        if f is not None:
            f.close()
            os.unlink(part)
        raise
    if f is None:
        raise RuntimeError("the export stream ended without a chunk")
    f.close()
    os.replace(part, target)
    return target, written


def add_arguments(parser: argparse.ArgumentParser, service: str) -> None:
    """The options every ``cli export`` takes."""
    parser.add_argument("--filter", default="", help="the List RPC's filter (AIP-160, the service README)")
    parser.add_argument("--order-by", default="", help="the List RPC's order_by")
    parser.add_argument("--format", choices=sorted(FORMAT_NAMES), default="csv")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="file or directory to write (default: the server's file name, here)")
    parser.add_argument("--target", default=None, help=f"host:port of {service}'s front (default: from settings)")
    parser.add_argument("--token", default=os.environ.get("SHANGJI_TOKEN", ""),
                        help="bearer token (default $SHANGJI_TOKEN; python -m shangji_kit.admin token <user-id>)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds the whole export may take")


def run(service: str, args: argparse.Namespace, call: Callable[[grpc.Channel], Callable], request: Any) -> int:
    """Run an export RPC as the token's user and save its file; 0 when saved, 1 when the service refused, 2 when
    the file cannot be written."""
    with channel(service, args.target) as ch:
        responses = call(ch)(request, timeout=args.timeout, metadata=metadata(args.token))
        try:
            path, rows = save(responses, args.output)
        except grpc.RpcError as exc:
            sys.stderr.write("\n")
            fields = details_of(exc)["fields"]
            print(f"refused: {exc.code().name}: {exc.details()}" + (f" ({', '.join(fields)})" if fields else ""),
                  file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"\ncannot write the file: {exc}", file=sys.stderr)
            return 2
    sys.stderr.write("\n")
    print(f"{path}: {rows} rows")
    return 0
