"""Teams' events through the worker's handlers into the projection (org_users, org_departments, team_members),
against the session's real database: idempotent on redelivery, older states ignored."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from opportunities.service_layer import projection
from shangji_kit.errors import InvalidArgument

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def user_row(scalar):
    def read(user_id: str) -> dict | None:
        return scalar("SELECT (SELECT row_to_json(u) FROM org_users u WHERE user_id = :id)", id=user_id)

    return read


@pytest.fixture
def dept_row(scalar):
    def read(dept_id: str) -> dict | None:
        return scalar("SELECT (SELECT row_to_json(d) FROM org_departments d WHERE id = :id)", id=dept_id)

    return read


@pytest.fixture
def claims(scalar):
    def count(consumer: str, event_id: str) -> int:
        return scalar("SELECT count(*) FROM inbox WHERE consumer = :c AND event_id = :e", c=consumer, e=event_id)

    return count


@pytest.fixture
def members(scalar):
    def read(opportunity: str) -> dict[str, bool]:
        """user id -> can_edit of a deal's team."""
        rows = scalar("SELECT coalesce(json_object_agg(user_id, can_edit), '{}') FROM team_members "
                      "WHERE opportunity_id = :o", o=opportunity.split("/")[1])
        return dict(rows)

    return read


def test_a_created_user_is_projected_with_plain_ids_and_the_event_is_claimed(org, worker, user_row, claims):
    dept = str(uuid.uuid4())
    body = org.user_event(department=dept, roles=("sales_rep", "sales_ops"), at=T0)
    worker.on_user_created(body)
    row = user_row(body["data"]["user"]["id"])
    assert (row["department_id"], row["roles"], row["active"]) == (dept, ["sales_rep", "sales_ops"], True)
    assert claims(projection.USER_CREATED_CONSUMER, body["id"]) == 1


def test_a_redelivered_user_event_changes_nothing(org, worker, user_row, claims):
    user_id = str(uuid.uuid4())
    first = org.user_event(user_id, department=str(uuid.uuid4()), at=T0)
    newer = org.user_event(user_id, department=str(uuid.uuid4()), at=T0 + timedelta(minutes=1), kind="UserUpdated")
    worker.on_user_created(first)
    worker.on_user_updated(newer)
    worker.on_user_created(first)  # redelivered after the newer state: the inbox already has it
    assert user_row(user_id)["department_id"] == newer["data"]["user"]["department"].split("/")[1]
    assert claims(projection.USER_CREATED_CONSUMER, first["id"]) == 1


def test_an_older_user_state_under_a_new_event_id_is_ignored(org, worker, user_row):
    user_id = str(uuid.uuid4())
    worker.on_user_updated(org.user_event(user_id, roles=("sales_manager",), at=T0 + timedelta(minutes=5),
                                          kind="UserUpdated"))
    worker.on_user_updated(org.user_event(user_id, roles=("sales_ops",), at=T0, kind="UserUpdated"))
    worker.on_user_created(org.user_event(user_id, roles=("admin",), at=T0 - timedelta(days=1)))
    assert user_row(user_id)["roles"] == ["sales_manager"]


def test_a_deactivated_user_is_inactive_and_a_stale_update_does_not_revive_them(org, worker, user_row, claims):
    user_id = org.user(at=T0)
    body = org.user_event(user_id, at=T0 + timedelta(hours=1), kind="UserDeactivated", active=False)
    worker.on_user_deactivated(body)
    worker.on_user_updated(org.user_event(user_id, at=T0 + timedelta(minutes=30), kind="UserUpdated"))
    assert user_row(user_id)["active"] is False
    assert claims(projection.USER_DEACTIVATED_CONSUMER, body["id"]) == 1


def test_departments_are_projected_with_their_path_and_head_and_older_states_ignored(org, worker, dept_row, claims):
    head = str(uuid.uuid4())
    root = org.department(at=T0)
    dept = str(uuid.uuid4())
    body = org.department_event(dept, parent=root, head=head, at=T0 + timedelta(minutes=1))
    worker.on_department_changed(body)
    worker.on_department_changed(body)
    row = dept_row(dept)
    assert (row["parent_id"], row["path"], row["head_id"]) == (root, f"/{root}/{dept}/", head)
    assert claims(projection.DEPARTMENT_CHANGED_CONSUMER, body["id"]) == 1
    # Re-headed later; then an older state (no head) arrives under another event id and is ignored.
    new_head = str(uuid.uuid4())
    org.department(dept, parent=root, head=new_head, at=T0 + timedelta(minutes=10))
    org.department(dept, parent=root, head=None, at=T0 + timedelta(minutes=2))
    assert dept_row(dept)["head_id"] == new_head
    assert dept_row(root)["parent_id"] is None and dept_row(root)["head_id"] is None


def test_a_moved_department_gets_its_new_path(org, dept_row):
    a, b = org.department(at=T0), org.department(at=T0)
    child = org.department(parent=a, at=T0)
    org.department(child, parent=b, at=T0 + timedelta(seconds=1))
    assert dept_row(child)["path"] == f"/{b}/{child}/"


def test_a_team_member_added_twice_stays_as_first_added_and_removal_deletes(org, worker, register, members,
                                                                             claims):
    deal = register(str(uuid.uuid4()))
    member = str(uuid.uuid4())
    added = org.member_added_event(deal, member, can_edit=True)
    worker.on_team_member_added(added)
    worker.on_team_member_added(added)  # redelivery
    org.add_member(deal, member, can_edit=False)  # another event adding the same person: a no-op
    assert members(deal) == {member: True}
    assert claims(projection.TEAM_MEMBER_ADDED_CONSUMER, added["id"]) == 1
    removed = org.member_removed_event(deal, member)
    worker.on_team_member_removed(removed)
    worker.on_team_member_removed(removed)
    assert members(deal) == {}
    assert claims(projection.TEAM_MEMBER_REMOVED_CONSUMER, removed["id"]) == 1


def test_removing_someone_not_on_the_team_is_harmless(org, register, members):
    deal = register(str(uuid.uuid4()))
    kept = str(uuid.uuid4())
    org.add_member(deal, kept)
    org.remove_member(deal, str(uuid.uuid4()))
    assert members(deal) == {kept: False}


def test_a_member_of_a_deal_not_registered_here_yet_is_kept(org, members):
    deal = f"opportunities/{uuid.uuid4()}"
    member = str(uuid.uuid4())
    org.add_member(deal, member, can_edit=True)
    assert members(deal) == {member: True}


@pytest.mark.parametrize(("handler", "build", "field"), [
    ("on_user_created", lambda org: _broken(org.user_event(), "user", "department", "teams/1"), "user.department"),
    ("on_department_changed", lambda org: _broken(org.department_event(), "department", "path", "/x/"),
     "department.path"),
    ("on_team_member_added", lambda org: _broken(org.member_added_event(f"opportunities/{uuid.uuid4()}",
                                                                        str(uuid.uuid4())), "member", "user", "u1"),
     "member.user"),
])
def test_a_malformed_event_is_rejected_and_not_claimed(org, worker, claims, handler, build, field):
    body = build(org)
    with pytest.raises(InvalidArgument) as exc:
        getattr(worker, handler)(body)
    assert exc.value.violations[0].field == field
    assert claims(projection.consumer(handler), body["id"]) == 0


def _broken(body: dict, message: str, field: str, value: str) -> dict:
    body["data"][message][field] = value
    return body
