"""Departments and placement history through the teams front in-process, against the real teams database."""

import uuid

import grpc
from google.protobuf.field_mask_pb2 import FieldMask

from shangji.teams.v1 import teams_pb2

INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
PRECONDITION, ABORTED = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED


def move(caller, department: teams_pb2.Department, parent: teams_pb2.Department | None, etag: str = ""):
    return caller.UpdateDepartment(teams_pb2.UpdateDepartmentRequest(
        department=teams_pb2.Department(name=department.name, parent=parent.name if parent else ""),
        update_mask=FieldMask(paths=["parent"]), etag=etag))


def test_a_tree_keeps_materialised_paths_and_each_creation_is_an_event(admin, new_user, outbox, db):
    head = new_user(display_name="王强")
    mark = outbox.mark()
    root = admin.CreateDepartment(teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
        display_name="  销售中心 ", head=head.name)))
    child = admin.CreateDepartment(teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
        display_name="华南销售部", parent=root.name)))
    assert (root.display_name, root.parent, root.head, root.path) == ("销售中心", "", head.name, f"/{root.id}/")
    assert (child.parent, child.head, child.path) == (root.name, "", f"/{root.id}/{child.id}/")
    assert admin.GetDepartment(teams_pb2.GetDepartmentRequest(name=child.name)) == child
    events = outbox.since(mark)
    assert [(t, s) for t, s, _ in events] == [("DepartmentChanged", root.name), ("DepartmentChanged", child.name)]
    assert events[1][2]["department"]["path"] == child.path and events[1][2]["department"]["updateTime"]
    assert db.rows("SELECT placed_under::text FROM placements WHERE subject_id = :d", d=child.id) == [(root.id,)]


def test_a_retry_with_the_same_request_id_returns_the_first_department(admin, db):
    req = teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(display_name="售前技术部"),
                                            request_id="dept-" + uuid.uuid4().hex)
    first = admin.CreateDepartment(req)
    before = db.state()
    assert admin.CreateDepartment(req) == first and db.state() == before


def test_bad_departments_are_invalid_naming_every_field_and_write_nothing(admin, new_user, fails, db):
    inactive, successor = new_user(), new_user()
    admin.DeactivateUser(teams_pb2.DeactivateUserRequest(name=inactive.name, successor=successor.name))
    before = db.state()
    failure = fails(admin.CreateDepartment, teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
        display_name=" ", parent=f"departments/{uuid.uuid4()}", head=inactive.name)))
    assert (failure.code, failure.fields) == (INVALID, ["department.display_name", "department.parent",
                                                        "department.head"])
    failure = fails(admin.CreateDepartment, teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
        display_name="x" * 201, parent="销售中心", head=f"users/{uuid.uuid4()}")))
    assert (failure.code, failure.fields) == (INVALID, ["department.display_name", "department.parent",
                                                        "department.head"])
    assert db.state() == before


def test_list_all_or_the_direct_children_of_a_parent_page_by_page(admin, teams, new_department, fails):
    root = new_department("销售中心")
    kids = [new_department(f"销售{i}部", parent=root) for i in range(3)]
    new_department("一组", parent=kids[0])  # a grandchild: not a direct child
    pages, token = [], ""
    while True:
        resp = teams.ListDepartments(teams_pb2.ListDepartmentsRequest(parent=root.name, page_size=2,
                                                                      page_token=token))
        pages.append([d.name for d in resp.departments])
        token = resp.next_page_token
        if not token:
            break
    assert pages == [[kids[0].name, kids[1].name], [kids[2].name]]
    everything = teams.ListDepartments(teams_pb2.ListDepartmentsRequest(page_size=200))
    assert root.name in {d.name for d in everything.departments}
    assert fails(teams.ListDepartments, teams_pb2.ListDepartmentsRequest(parent="root")).fields == ["parent"]
    failure = fails(teams.GetDepartment, teams_pb2.GetDepartmentRequest(name=f"departments/{uuid.uuid4()}"))
    assert failure.code == NOT_FOUND


def test_rename_and_rehead_bump_the_etag_and_emit_one_event(admin, new_user, new_department, outbox):
    dept, head = new_department("华南销售部"), new_user()
    mark = outbox.mark()
    changed = admin.UpdateDepartment(teams_pb2.UpdateDepartmentRequest(
        department=teams_pb2.Department(name=dept.name, display_name="华南大区", head=head.name, parent="ignored"),
        update_mask=FieldMask(paths=["display_name", "head"]), etag=dept.etag))
    assert (changed.display_name, changed.head, changed.parent, changed.path) == ("华南大区", head.name, "", dept.path)
    assert changed.etag != dept.etag and changed.update_time.ToDatetime() > dept.update_time.ToDatetime()
    assert [(t, s) for t, s, _ in outbox.since(mark)] == [("DepartmentChanged", dept.name)]


def test_a_move_rewrites_the_subtree_paths_with_one_event_per_department(admin, new_department, new_user,
                                                                         outbox, db):
    centre, other = new_department("销售中心"), new_department("大客户中心")
    south = new_department("华南销售部", parent=centre)
    team1 = new_department("一组", parent=south)
    team2 = new_department("二组", parent=south)
    deep = new_department("深圳", parent=team1)
    untouched = new_department("华北销售部", parent=centre)
    rep = new_user(department=deep.name)
    mark = outbox.mark()
    moved = move(admin, south, other, etag=south.etag)
    assert (moved.parent, moved.path) == (other.name, f"/{other.id}/{south.id}/")
    events = outbox.since(mark)
    assert sorted(s for _, s, _ in events) == sorted([south.name, team1.name, team2.name, deep.name])
    assert {t for t, _, _ in events} == {"DepartmentChanged"}
    by_name = {s: d["department"] for _, s, d in events}
    assert by_name[deep.name]["path"] == f"/{other.id}/{south.id}/{team1.id}/{deep.id}/"
    for d in (team1, team2, deep):  # full states, each newer than what consumers hold
        after = admin.GetDepartment(teams_pb2.GetDepartmentRequest(name=d.name))
        assert after.path == by_name[d.name]["path"] and after.parent == d.parent
        assert after.update_time.ToDatetime() > d.update_time.ToDatetime() and after.etag != d.etag
    assert admin.GetDepartment(teams_pb2.GetDepartmentRequest(name=untouched.name)) == untouched
    # The rep in the subtree is now found under the new parent.
    assert rep.name in {u.name for u in admin.ListUsers(teams_pb2.ListUsersRequest(department=other.name)).users}
    assert db.rows("SELECT placed_under::text, end_time IS NULL FROM placements WHERE subject_id = :d "
                   "ORDER BY start_time", d=south.id) == [(centre.id, False), (other.id, True)]


def test_a_move_to_the_root_and_back(admin, new_department):
    centre = new_department("销售中心")
    south = new_department("华南销售部", parent=centre)
    rooted = move(admin, south, None)
    assert (rooted.parent, rooted.path) == ("", f"/{south.id}/")
    assert move(admin, rooted, centre).path == south.path


def test_a_move_under_itself_or_its_descendant_is_a_cycle_and_changes_nothing(admin, new_department, fails,
                                                                              db):
    centre = new_department("销售中心")
    south = new_department("华南销售部", parent=centre)
    team1 = new_department("一组", parent=south)
    deep = new_department("深圳", parent=team1)
    before = db.state()
    for moved, under in ((south, south), (centre, team1), (centre, deep), (south, deep), (team1, deep)):
        failure = fails(admin.UpdateDepartment, teams_pb2.UpdateDepartmentRequest(
            department=teams_pb2.Department(name=moved.name, parent=under.name),
            update_mask=FieldMask(paths=["parent"])))
        assert (failure.code, failure.reason) == (PRECONDITION, "DEPARTMENT_CYCLE"), (moved, under)
        assert failure.preconditions[0][0] == "DEPARTMENT_CYCLE"
    failure = fails(admin.UpdateDepartment, teams_pb2.UpdateDepartmentRequest(
        department=teams_pb2.Department(name=centre.name, parent=deep.name, display_name="改名"),
        update_mask=FieldMask(paths=["parent", "display_name"])))
    assert (failure.code, failure.reason) == (PRECONDITION, "DEPARTMENT_CYCLE")
    assert db.state() == before


def test_update_refusals_are_precise_and_change_nothing(admin, new_department, new_user, fails, db):
    dept = new_department()
    renamed = admin.UpdateDepartment(teams_pb2.UpdateDepartmentRequest(
        department=teams_pb2.Department(name=dept.name, display_name="新名"),
        update_mask=FieldMask(paths=["display_name"])))
    before = db.state()
    cases = [
        (teams_pb2.UpdateDepartmentRequest(department=teams_pb2.Department(name=dept.name, display_name="再改"),
                                           update_mask=FieldMask(paths=["display_name"]), etag=dept.etag),
         (ABORTED, ["ETAG_MISMATCH"])),
        (teams_pb2.UpdateDepartmentRequest(department=teams_pb2.Department(name=dept.name),
                                           update_mask=FieldMask(paths=["path"])), (INVALID, ["update_mask"])),
        (teams_pb2.UpdateDepartmentRequest(department=teams_pb2.Department(name=dept.name),
                                           update_mask=FieldMask()), (INVALID, ["update_mask"])),
        (teams_pb2.UpdateDepartmentRequest(
            department=teams_pb2.Department(name=dept.name, parent=f"departments/{uuid.uuid4()}",
                                            head=f"users/{uuid.uuid4()}", display_name=""),
            update_mask=FieldMask(paths=["parent", "head", "display_name"])),
         (INVALID, ["department.display_name", "department.parent", "department.head"])),
        (teams_pb2.UpdateDepartmentRequest(department=teams_pb2.Department(name=f"departments/{uuid.uuid4()}"),
                                           update_mask=FieldMask(paths=["display_name"])), (NOT_FOUND, ["NOT_FOUND"])),
    ]
    for req, expected in cases:  # (code, the fields named, or else the reason)
        failure = fails(admin.UpdateDepartment, req)
        assert (failure.code, failure.fields or [failure.reason]) == expected, req
    assert db.state() == before
    assert admin.GetDepartment(teams_pb2.GetDepartmentRequest(name=dept.name)) == renamed


def test_placement_history_of_a_user_oldest_first(admin, teams, new_user, new_department, fails):
    first, second = new_department("华南销售部"), new_department("华北销售部")
    user = new_user(department=first.name)
    admin.UpdateUser(teams_pb2.UpdateUserRequest(user=teams_pb2.User(name=user.name, department=second.name),
                                                 update_mask=FieldMask(paths=["department"])))
    admin.UpdateUser(teams_pb2.UpdateUserRequest(user=teams_pb2.User(name=user.name),
                                                 update_mask=FieldMask(paths=["department"])))
    history = teams.ListPlacementHistory(teams_pb2.ListPlacementHistoryRequest(name=user.name)).placements
    assert [p.placed_under for p in history] == [first.name, second.name, ""]
    assert [p.HasField("end_time") for p in history] == [True, True, False]
    assert history[0].end_time == history[1].start_time
    assert {p.changed_by for p in history} == {history[0].changed_by} and history[0].changed_by.startswith("users/")
    assert fails(teams.ListPlacementHistory, teams_pb2.ListPlacementHistoryRequest(name="leads/1")).fields == ["name"]
    failure = fails(teams.ListPlacementHistory, teams_pb2.ListPlacementHistoryRequest(name=f"users/{uuid.uuid4()}"))
    assert failure.code == NOT_FOUND


def test_placement_history_of_a_department(admin, teams, new_department):
    a, b = new_department("销售中心"), new_department("大客户中心")
    dept = new_department("华南销售部", parent=a)
    move(admin, dept, b)
    history = teams.ListPlacementHistory(teams_pb2.ListPlacementHistoryRequest(name=dept.name)).placements
    assert [p.placed_under for p in history] == [a.name, b.name]
