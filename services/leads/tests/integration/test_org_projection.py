"""The worker's projection of teams' organisation, fed through its handlers against the real database."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shangji.teams.v1.events_pb2 import UserCreated, UserDeactivated, UserUpdated
from shangji_kit.errors import InvalidArgument

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def user_row(query, user_id: str):
    rows = query("SELECT department_id, roles, active, update_time FROM org_users WHERE user_id = :u", u=user_id)
    return rows[0] if rows else None


def department_row(query, department_id: str):
    rows = query("SELECT parent_id, path, head_id, update_time FROM org_departments WHERE id = :d", d=department_id)
    return rows[0] if rows else None


def inbox_count(query, event_id: str) -> int:
    return query("SELECT count(*) FROM inbox WHERE event_id = :e", e=event_id)[0][0]


def test_a_created_user_is_projected_and_a_redelivery_changes_nothing(worker, teams, query):
    user_id, department = str(uuid.uuid4()), str(uuid.uuid4())
    body = teams.user(UserCreated, user_id, department=department, roles=["sales_rep"], update_time=T0)
    worker.on_user_created(body)
    assert tuple(user_row(query, user_id)) == (department, ["sales_rep"], True, T0)
    # A redelivery of the same event is claimed once, even after a newer state arrived.
    worker.on_user_updated(teams.user(UserUpdated, user_id, roles=["sales_ops"], update_time=T0 + timedelta(1)))
    worker.on_user_created(body)
    assert tuple(user_row(query, user_id)) == (None, ["sales_ops"], True, T0 + timedelta(1))
    assert query("SELECT consumer FROM inbox WHERE event_id = :e", e=body["id"]) == [("leads.on_user_created",)]


def test_an_older_user_state_is_ignored_and_a_newer_one_applied(worker, teams, query):
    user_id = str(uuid.uuid4())
    worker.on_user_updated(teams.user(UserUpdated, user_id, roles=["sales_manager"], update_time=T0))
    # UserCreated delivered after an update it precedes: older, so ignored (but still consumed).
    late = teams.user(UserCreated, user_id, roles=["sales_rep"], update_time=T0 - timedelta(minutes=5))
    worker.on_user_created(late)
    assert user_row(query, user_id).roles == ["sales_manager"]
    assert inbox_count(query, late["id"]) == 1
    worker.on_user_updated(teams.user(UserUpdated, user_id, roles=["sales_ops"], update_time=T0 + timedelta(1)))
    assert user_row(query, user_id).roles == ["sales_ops"]


def test_a_deactivation_makes_the_user_inactive(worker, teams, query):
    user_id = str(uuid.uuid4())
    worker.on_user_created(teams.user(UserCreated, user_id, update_time=T0))
    # The event's type decides, even if a payload claimed otherwise.
    worker.on_user_deactivated(teams.user(UserDeactivated, user_id, active=True, update_time=T0 + timedelta(1)))
    assert user_row(query, user_id).active is False
    # An update older than the deactivation does not bring the user back.
    worker.on_user_updated(teams.user(UserUpdated, user_id, active=True, update_time=T0 + timedelta(hours=1)))
    assert user_row(query, user_id).active is False


def test_a_department_is_projected_older_states_ignored_and_redeliveries_skipped(worker, teams, query):
    root, child, head, new_head = (str(uuid.uuid4()) for _ in range(4))
    path = f"/{root}/{child}/"
    first = teams.department(child, path=path, parent=root, head=head, update_time=T0)
    worker.on_department_changed(first)
    assert tuple(department_row(query, child)) == (root, path, head, T0)
    worker.on_department_changed(teams.department(child, path=path, parent=root, head=new_head,
                                                  update_time=T0 + timedelta(1)))
    worker.on_department_changed(teams.department(child, path=path, parent=root, head=str(uuid.uuid4()),
                                                  update_time=T0 + timedelta(hours=1)))
    worker.on_department_changed(first)
    assert department_row(query, child).head_id == new_head
    assert inbox_count(query, first["id"]) == 1


def test_a_root_department_without_a_head(worker, teams, query):
    root = str(uuid.uuid4())
    worker.on_department_changed(teams.department(root, path=f"/{root}/", update_time=T0))
    assert tuple(department_row(query, root)) == (None, f"/{root}/", None, T0)


@pytest.mark.parametrize(("field", "spoil"), [
    ("user.name", lambda data: data["user"].update(name="people/1")),
    ("user.department", lambda data: data["user"].update(department="teams/1")),
    ("user.update_time", lambda data: data["user"].pop("updateTime")),
])
def test_a_malformed_user_event_is_rejected_and_writes_nothing(worker, teams, query, field, spoil):
    user_id = str(uuid.uuid4())
    body = teams.user(UserCreated, user_id, department=str(uuid.uuid4()))
    spoil(body["data"])
    with pytest.raises(InvalidArgument) as exc:
        worker.on_user_created(body)
    assert [v.field for v in exc.value.violations] == [field]
    assert user_row(query, user_id) is None and inbox_count(query, body["id"]) == 0


def test_a_department_whose_path_does_not_end_in_its_id_is_rejected(worker, teams, query):
    root, child = str(uuid.uuid4()), str(uuid.uuid4())
    body = teams.department(child, path=f"/{root}/", parent=root)
    with pytest.raises(InvalidArgument) as exc:
        worker.on_department_changed(body)
    assert [v.field for v in exc.value.violations] == ["department.path"]
    assert department_row(query, child) is None and inbox_count(query, body["id"]) == 0
