"""The repository stands alone: every file its docs name is in it, and it carries its licence."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".venv", "build", ".git", "node_modules"}
LINK = re.compile(r"\[[^\]]*\]\(([^)#\s]+)(?:#[^)]*)?\)")
# A path in backquotes that leaves the folder it is written in, like `../x/y.md`.
UP_AND_OUT = re.compile(r"`((?:\.\./)+[\w./-]+)`")


def markdown_files() -> list[Path]:
    return [p for p in ROOT.rglob("*.md") if not SKIP & set(p.relative_to(ROOT).parts)]


def outside_links(path: Path) -> list[str]:
    found = []
    text = path.read_text(encoding="utf-8")
    for target in LINK.findall(text) + UP_AND_OUT.findall(text):
        if re.match(r"^[a-z]+:", target):  # http:, mailto: ... are addresses, not files
            continue
        resolved = (path.parent / target).resolve()
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            found.append(f"{path.relative_to(ROOT)}: {target}")
    return found


def test_no_document_points_outside_the_repository_or_at_a_missing_file():
    assert len(markdown_files()) > 8
    assert [bad for p in markdown_files() for bad in outside_links(p)] == []


def test_the_check_sees_a_link_outside(tmp_path):
    doc = ROOT / "build" / "docs-check" / "x.md"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("see `../../../shared/ARCHITECTURE.md` and [a](../../nope.md) and [b](https://example.com)")
    assert len(outside_links(doc)) == 2


def test_readme_has_an_architecture_picture_and_the_licence_is_apache():
    assert "```mermaid" in (ROOT / "README.md").read_text()
    licence = (ROOT / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
