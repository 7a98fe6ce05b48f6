"""The OpportunityTeamMemberAdded consumer against the session's real notify database."""

import uuid

import pytest

from shangji_kit.errors import InvalidArgument


def test_the_added_member_is_told_once_even_when_the_event_comes_twice(worker, team_member_added, scalar):
    member, added_by = str(uuid.uuid4()), str(uuid.uuid4())
    body = team_member_added(member=member, added_by=added_by, role="solution_manager")
    worker.on_team_member_added(body)
    worker.on_team_member_added(body)
    assert scalar("SELECT count(*) FROM notifications WHERE recipient_id = :r", r=member) == 1
    assert scalar("SELECT count(*) FROM notifications WHERE recipient_id = :r", r=added_by) == 0
    row = scalar("SELECT row_to_json(n) FROM notifications n WHERE recipient_id = :r", r=member)
    assert row["title"] == "你已加入商机团队"
    assert "解决方案经理" in row["body"] and f"users/{added_by}" in row["body"]
    assert (row["subject"], row["read"], row["source_event_id"]) == (body["data"]["opportunity"], False, body["id"])
    assert scalar("SELECT consumer FROM inbox WHERE event_id = :e", e=body["id"]) == "notify.on_team_member_added"


def test_each_addition_is_its_own_notice(worker, team_member_added, scalar):
    member = str(uuid.uuid4())
    for role in ("presales", "service"):
        worker.on_team_member_added(team_member_added(member=member, added_by=str(uuid.uuid4()), role=role))
    assert scalar("SELECT count(*) FROM notifications WHERE recipient_id = :r", r=member) == 2


@pytest.mark.parametrize(("field", "spoil"), [
    ("member.user", lambda data: data["member"].update(user="")),
    ("opportunity", lambda data: data.update(opportunity="leads/1")),
    ("added_by", lambda data: data.pop("addedBy")),
])
def test_a_malformed_event_is_rejected_and_writes_nothing(worker, team_member_added, scalar, field, spoil):
    member = str(uuid.uuid4())
    body = team_member_added(member=member, added_by=str(uuid.uuid4()))
    spoil(body["data"])
    with pytest.raises(InvalidArgument) as exc:
        worker.on_team_member_added(body)
    assert [v.field for v in exc.value.violations] == [field]
    assert scalar("SELECT count(*) FROM inbox WHERE event_id = :e", e=body["id"]) == 0
    assert scalar("SELECT count(*) FROM notifications WHERE recipient_id = :r", r=member) == 0
