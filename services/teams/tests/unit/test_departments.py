"""Departments as a tree: paths, moves, cycle detection, references. No I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from shangji_kit.errors import FailedPrecondition
from teams.domain import model
from teams.domain.commands import DepartmentInput

NOW = datetime(2026, 11, 25, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def dept(id: str, parent: model.Department | None = None, name: str = "") -> model.Department:
    d = model.new_department(id=id, values={"display_name": name or id}, parent=parent, now=NOW)
    d.events.clear()
    return d


@pytest.fixture
def tree():
    """centre > south > (team1 > deep, team2); north is a separate root."""
    centre = dept("centre")
    south = dept("south", centre)
    team1 = dept("team1", south)
    return {"centre": centre, "south": south, "team1": team1, "team2": dept("team2", south),
            "deep": dept("deep", team1), "north": dept("north")}


def below(tree, name):
    return [d for d in tree.values() if d.path.startswith(tree[name].path) and d.id != name]


def test_paths_run_from_the_root_down():
    centre = model.new_department(id="c", values={"display_name": "销售中心", "head": "h"}, parent=None, now=NOW)
    south = model.new_department(id="s", values={"display_name": "华南销售部"}, parent=centre, now=NOW)
    assert (centre.path, south.path, south.parent_id, centre.head_id) == ("/c/", "/c/s/", "c", "h")
    assert [type(e) for e in south.events] == [model.DepartmentChanged]
    assert centre.contains(south) and centre.contains(centre) and not south.contains(centre)


def test_rewriting_a_path_replaces_the_moved_prefix_only():
    assert model.rewrite_path("/a/b/c/", "/a/b/", "/x/b/") == "/x/b/c/"
    assert model.rewrite_path("/a/b/", "/a/b/", "/b/") == "/b/"
    with pytest.raises(ValueError):
        model.rewrite_path("/a/bc/", "/a/b/c/", "/x/")


def test_a_move_rewrites_the_whole_subtree_and_records_one_event_per_department(tree):
    south = tree["south"]
    changed = south.update({"parent": "north"}, new_parent=tree["north"], descendants=below(tree, "south"), now=LATER)
    assert [d.id for d in changed] == ["south", "team1", "team2", "deep"]
    assert (south.parent_id, south.path) == ("north", "/north/south/")
    assert tree["deep"].path == "/north/south/team1/deep/" and tree["deep"].parent_id == "team1"
    for d in changed:  # a newer full state of each, for consumers that ignore older ones
        assert (d.update_time, d.version) == (LATER, 2)
        assert [(type(e), e.department) for e in d.events] == [(model.DepartmentChanged, d)]
    assert tree["centre"].path == "/centre/" and tree["centre"].events == []


def test_a_move_to_the_root():
    centre = dept("c")
    south = dept("s", centre)
    south.update({"parent": None}, new_parent=None, descendants=[], now=LATER)
    assert (south.parent_id, south.path) == (None, "/s/")


@pytest.mark.parametrize("moved, under", [("south", "south"), ("south", "team1"), ("south", "deep"),
                                          ("centre", "deep"), ("team1", "deep")])
def test_a_move_under_itself_or_a_descendant_is_a_cycle_and_changes_nothing(tree, moved, under):
    snapshot = {k: (d.path, d.parent_id, d.version, d.update_time) for k, d in tree.items()}
    with pytest.raises(FailedPrecondition) as exc:
        tree[moved].update({"parent": under, "display_name": "新名"}, new_parent=tree[under],
                           descendants=below(tree, moved), now=LATER)
    assert exc.value.reason == "DEPARTMENT_CYCLE"
    assert {k: (d.path, d.parent_id, d.version, d.update_time) for k, d in tree.items()} == snapshot
    assert tree[moved].display_name == moved and all(d.events == [] for d in tree.values())


def test_a_move_to_a_sibling_or_an_uncle_is_no_cycle(tree):
    tree["team1"].update({"parent": "team2"}, new_parent=tree["team2"], descendants=[tree["deep"]], now=LATER)
    assert tree["deep"].path == "/centre/south/team2/team1/deep/"


def test_rename_and_rehead_change_only_the_department_itself(tree):
    south = tree["south"]
    changed = south.update({"display_name": "华南大区", "head": "h1", "parent": "centre"}, new_parent=tree["centre"],
                           descendants=[], now=LATER)
    assert changed == [south] and (south.display_name, south.head_id, south.path) == ("华南大区", "h1",
                                                                                       "/centre/south/")
    assert south.update({"display_name": "华南大区"}, new_parent=None, descendants=[], now=LATER) == []
    assert south.version == 2


def test_department_input_and_references():
    checked, violations = model.check_department_input(DepartmentInput(display_name="  华南   销售部 "),
                                                       model.DEPARTMENT_PATHS)
    assert checked == {"display_name": "华南 销售部", "parent": None, "head": None} and violations == []
    _, violations = model.check_department_input(DepartmentInput(parent="销售中心", head="users/x"),
                                                 model.DEPARTMENT_PATHS)
    assert [v.field for v in violations] == ["department.display_name", "department.parent", "department.head"]
    values = {"parent": "p", "head": "h"}
    found = model.check_department_references(values, parent=None, head=None)
    assert [v.field for v in found] == ["department.parent", "department.head"]
    head = model.new_user(id="h", values={"display_name": "王强", "email": "w@example.com"}, now=NOW)
    assert model.check_department_references(values, parent=dept("p"), head=head) == []
    head.active = False
    assert [v.field for v in model.check_department_references(values, parent=dept("p"), head=head)] == [
        "department.head"]
