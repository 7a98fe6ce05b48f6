"""Users: validation, references, updates, deactivation and transfers. No I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from shangji_kit.errors import Aborted, FailedPrecondition, InvalidArgument
from teams.domain import model
from teams.domain.commands import UserInput

NOW = datetime(2026, 11, 25, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
DEPT = "7b0c0a9e-4c2e-4a9b-9a57-0d5d7c1a0001"
BOSS = "7b0c0a9e-4c2e-4a9b-9a57-0d5d7c1a0002"


def values(**kw):
    data = {"display_name": " Li Lei ", "email": "Li.Lei@Example.com", "phone": "138 0013 8000",
            "department": f"departments/{DEPT}", "manager": f"users/{BOSS}", "roles": ("sales_rep", "presales"),
            "territories": ("华南", " 华南 "), "capacity": 10}
    data.update(kw)
    checked, violations = model.check_user_input(UserInput(**data), model.USER_PATHS)
    assert violations == []
    return checked


def make(id: str = "u1", **kw) -> model.User:
    return model.new_user(id=id, values=values(**kw), now=NOW)


def test_new_user_is_normalised_and_records_its_creation():
    user = make()
    assert (user.display_name, user.email, user.phone) == ("Li Lei", "li.lei@example.com", "+8613800138000")
    assert (user.department_id, user.manager_id, user.roles) == (DEPT, BOSS, ("sales_rep", "presales"))
    assert user.territories == ("华南",) and user.capacity == 10
    assert user.active and user.etag == "1"
    assert [type(e) for e in user.events] == [model.UserCreated]


def test_every_bad_field_is_reported_at_once():
    _, violations = model.check_user_input(UserInput(
        display_name="  ", email="not-an-email", phone="12", department="华南销售部", manager="users/nobody",
        roles=("sales_rep", "boss"), function_tags=("",), expertise=("x" * 101,), capacity=-1), model.USER_PATHS)
    assert [v.field for v in violations] == ["user.display_name", "user.email", "user.phone", "user.department",
                                             "user.manager", "user.roles", "user.function_tags", "user.expertise",
                                             "user.capacity"]
    assert "boss" in violations[5].description


def test_only_the_paths_asked_for_are_checked():
    checked, violations = model.check_user_input(UserInput(email="bad", capacity=3), ["capacity"])
    assert (checked, violations) == ({"capacity": 3}, [])


def test_empty_references_mean_none():
    checked = values(department="", manager=" ")
    assert (checked["department"], checked["manager"]) == (None, None)


def test_the_department_must_exist_and_the_manager_be_an_active_user_above_no_cycle():
    boss = make(id=BOSS)
    checked = values()
    assert model.check_user_references(checked, department_found=True, manager=boss) == []
    found = model.check_user_references(checked, department_found=False, manager=None)
    assert [v.field for v in found] == ["user.department", "user.manager"]
    boss.active = False
    assert [v.field for v in model.check_user_references(checked, department_found=True, manager=boss)] == [
        "user.manager"]
    boss.active = True
    # u1's manager would be BOSS, who reports (through x) to u1: a cycle.
    found = model.check_user_references(checked, department_found=True, manager=boss, manager_chain=[BOSS, "x", "u1"],
                                        user_id="u1")
    assert [v.field for v in found] == ["user.manager"] and "cycle" in found[0].description
    found = model.check_user_references(values(manager="users/" + "7b0c0a9e-4c2e-4a9b-9a57-0d5d7c1a0003"),
                                        department_found=True, manager=make(id="7b0c0a9e-4c2e-4a9b-9a57-0d5d7c1a0003"),
                                        user_id="7b0c0a9e-4c2e-4a9b-9a57-0d5d7c1a0003")
    assert [v.field for v in found] == ["user.manager"]  # one's own manager


def test_an_update_changes_what_differs_and_names_it_once():
    user = make()
    user.events.clear()
    changed = user.update({"display_name": "Li Lei", "capacity": 20, "department": None}, LATER)
    assert changed == ("department", "capacity")
    assert (user.capacity, user.department_id, user.version, user.update_time) == (20, None, 2, LATER)
    assert [(type(e), e.changed_fields) for e in user.events] == [(model.UserUpdated, ("department", "capacity"))]


def test_an_update_that_changes_nothing_records_nothing():
    user = make()
    user.events.clear()
    assert user.update({"capacity": 10, "roles": ("sales_rep", "presales")}, LATER) == ()
    assert (user.version, user.update_time, user.events) == (1, NOW, [])


def test_the_mask_is_required_and_known():
    assert model.check_mask(["capacity", "roles", "capacity"], model.USER_PATHS) == ("capacity", "roles")
    for paths in ([], ["active"], ["capacity", "etag"]):
        with pytest.raises(InvalidArgument) as exc:
            model.check_mask(paths, model.USER_PATHS)
        assert [v.field for v in exc.value.violations] == ["update_mask"]


def test_a_stale_etag_is_aborted():
    model.check_etag("users/u1", "2", "")
    model.check_etag("users/u1", "2", "2")
    with pytest.raises(Aborted):
        model.check_etag("users/u1", "2", "1")


def test_deactivation_records_both_events_and_happens_once():
    user, successor = make("u1"), make("u2")
    user.events.clear()
    user.deactivate(successor, transfer_id="t1", requested_by="admin", now=LATER)
    assert not user.active and user.version == 2 and user.update_time == LATER
    deactivated, transferred = user.events
    assert (type(deactivated), deactivated.successor_id) == (model.UserDeactivated, "u2")
    assert (transferred.transfer_id, transferred.from_user_id, transferred.to_user_id) == ("t1", "u1", "u2")
    with pytest.raises(FailedPrecondition) as exc:
        user.deactivate(successor, transfer_id="t2", requested_by="admin", now=LATER)
    assert exc.value.reason == "USER_ALREADY_INACTIVE"


def test_the_successor_must_be_another_active_user_and_nothing_changes_otherwise():
    user, successor = make("u1"), make("u2")
    with pytest.raises(InvalidArgument) as exc:
        user.deactivate(user, transfer_id="t", requested_by="a", now=LATER)
    assert exc.value.violations[0].field == "successor"
    successor.active = False
    with pytest.raises(FailedPrecondition) as exc:
        user.deactivate(successor, transfer_id="t", requested_by="a", now=LATER)
    assert exc.value.reason == "INACTIVE_USER"
    assert user.active and user.version == 1 and len(user.events) == 1


def test_a_transfer_goes_to_another_active_user():
    giver, taker = make("u1"), make("u2")
    event = model.transfer_ownership(giver, taker, transfer_id="t", requested_by="boss", now=LATER)
    assert (event.from_user_id, event.to_user_id, event.requested_by, event.transfer_time) == ("u1", "u2", "boss",
                                                                                                LATER)
    with pytest.raises(InvalidArgument) as exc:
        model.transfer_ownership(giver, giver, transfer_id="t", requested_by="boss", now=LATER)
    assert exc.value.violations[0].field == "to_user"
    taker.active = False
    with pytest.raises(FailedPrecondition) as exc:
        model.transfer_ownership(giver, taker, transfer_id="t", requested_by="boss", now=LATER)
    assert exc.value.reason == "INACTIVE_USER"
