"""A worker's liveness: its event loop touches a file, and the probe checks that the file is fresh.

A nameko worker can be alive as a process while its eventlet hub is stuck (a C call that never
yields, a deadlock): it then consumes nothing and the kubelet would never know. ``beat_forever``
runs as a green thread of the worker and touches ``SHANGJI_HEARTBEAT_FILE`` every ``INTERVAL``
seconds; it can only run while the hub does. The liveness probe runs
``python -m shangji_kit.heartbeat check``, which fails when the file is missing or older than
``--max-age`` seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from shangji_kit.settings import env

INTERVAL_SECONDS = 5.0
DEFAULT_MAX_AGE_SECONDS = 60.0


def path() -> Path:
    return Path(env("SHANGJI_HEARTBEAT_FILE", "/tmp/shangji-worker.heartbeat"))


def beat(at: Path) -> None:
    at.touch()
    os.utime(at)  # touch() leaves the time alone on some filesystems when the file exists


def beat_forever(sleep: Callable[[float], None], at: Path | None = None, interval: float = INTERVAL_SECONDS) -> None:
    """Touch the file every ``interval`` seconds; ``sleep`` is eventlet's in a worker."""
    target = at or path()
    while True:
        beat(target)
        sleep(interval)


def age_seconds(at: Path, now: float | None = None) -> float | None:
    """Seconds since the last beat, or None when there has been none."""
    try:
        mtime = at.stat().st_mtime
    except FileNotFoundError:
        return None
    return (time.time() if now is None else now) - mtime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shangji_kit.heartbeat")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="exit 0 if the worker's event loop beat recently")
    check.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE_SECONDS)
    args = parser.parse_args(argv)
    at = path()
    age = age_seconds(at)
    if age is None:
        print(f"no heartbeat at {at}", file=sys.stderr)
        return 1
    if age > args.max_age:
        print(f"heartbeat at {at} is {age:.0f}s old (limit {args.max_age:.0f}s): the event loop is stuck",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
