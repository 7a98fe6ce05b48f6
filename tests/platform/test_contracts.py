"""The gRPC contracts: buf breaking against the last release, with the rules in the root buf.yaml."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts import build_protos

ROOT = Path(__file__).resolve().parents[2]


def test_buf_yaml_at_the_root_holds_the_rules_make_lint_uses():
    config = yaml.safe_load((ROOT / "buf.yaml").read_text())
    (protos,) = [m for m in config["modules"] if m["path"] == "protos"]
    assert "STANDARD" in protos["lint"]["use"] and "FILE" in protos["breaking"]["use"]
    assert "version: v2" not in (ROOT / "scripts" / "build_protos.py").read_text(), "one buf.yaml, the root's"


def test_no_breaking_change_since_the_last_release():
    build_protos.breaking()


def _workspace_with(tmp_path: Path, edit) -> Path:
    shutil.copytree(ROOT / "protos" / "shangji", tmp_path / "protos" / "shangji")
    shutil.copy(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    edit(tmp_path / "protos" / "shangji")
    return tmp_path


def test_a_renumbered_field_is_caught(tmp_path):
    def renumber(protos: Path) -> None:
        path = protos / "leads" / "v1" / "leads.proto"
        text = path.read_text()
        changed = re.sub(r"(\n  string company = )(\d+)", lambda m: f"{m.group(1)}{int(m.group(2)) + 900}",
                         text, count=1)
        assert changed != text
        path.write_text(changed)

    with pytest.raises(subprocess.CalledProcessError) as caught:
        build_protos.breaking(workspace=_workspace_with(tmp_path, renumber))
    assert "company" in caught.value.stdout + caught.value.stderr


def test_an_added_field_is_not_a_break(tmp_path):
    def add(protos: Path) -> None:
        path = protos / "leads" / "v1" / "leads.proto"
        text = path.read_text()
        path.write_text(re.sub(r"(message Lead \{\n)", r"\1  string added_for_the_test = 9000;\n", text, count=1))

    build_protos.breaking(workspace=_workspace_with(tmp_path, add))
