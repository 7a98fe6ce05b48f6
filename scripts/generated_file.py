"""A generated document kept in the repository: write it, or (--check) fail when the committed copy is stale."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from scripts.build_protos import ROOT


def as_yaml(header: str, document: dict) -> str:
    return f"# {header} Do not edit.\n" + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


def main(out: Path, render: Callable[[], str], command: str, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="fail if the committed file is out of date")
    text = render()
    if parser.parse_args(argv).check:
        if not out.is_file() or out.read_text(encoding="utf-8") != text:
            print(f"{out.relative_to(ROOT)} is out of date: run {command}", file=sys.stderr)
            return 1
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0
