"""Opportunity teams and templates: adding, removing, applying, member checks. No I/O."""

from datetime import UTC, datetime

import pytest

from shangji_kit.errors import AlreadyExists, FailedPrecondition, NotFound
from teams.domain import model
from teams.domain import opportunity_teams as ot
from teams.domain.commands import MemberInput

NOW = datetime(2026, 11, 25, tzinfo=UTC)
U1, U2, U3 = ("7b0c0a9e-4c2e-4a9b-9a57-0d5d7c1a000" + str(i) for i in (1, 2, 3))


def user(id: str, active: bool = True) -> model.User:
    u = model.new_user(id=id, values={"display_name": f"user {id[-1]}", "email": f"{id}@example.com"}, now=NOW)
    u.active = active
    return u


def team() -> ot.OpportunityTeam:
    return ot.OpportunityTeam(opportunity_id="d1", owner_id="owner")


def test_adding_a_member_records_an_event():
    t = team()
    member = t.add(user(U1), "presales", True, by="owner", now=NOW)
    assert t.members == [member] and (member.user_id, member.role, member.can_edit, member.added_by) == (
        U1, "presales", True, "owner")
    [event] = t.events
    assert (type(event), event.opportunity_id, event.member, event.display_name) == (ot.TeamMemberAdded, "d1",
                                                                                    member, "user 1")
    assert t.name == "opportunities/d1/team" and t.is_on_team("owner") and t.is_on_team(U1)


def test_a_member_twice_or_the_owner_is_already_on_the_team_and_nothing_changes():
    t = team()
    t.add(user(U1), "presales", False, by="owner", now=NOW)
    t.events.clear()
    for who in (user(U1), user("owner")):
        with pytest.raises(AlreadyExists) as exc:
            t.add(who, "service", False, by="owner", now=NOW)
        assert exc.value.reason == "ALREADY_ON_TEAM"
    assert len(t.members) == 1 and t.events == []


def test_an_inactive_user_cannot_join():
    t = team()
    with pytest.raises(FailedPrecondition) as exc:
        t.add(user(U1, active=False), "presales", False, by="owner", now=NOW)
    assert exc.value.reason == "INACTIVE_USER" and t.members == [] and t.events == []


def test_removing_a_member_and_a_non_member_is_not_found():
    t = team()
    t.add(user(U1), "presales", False, by="owner", now=NOW)
    t.events.clear()
    t.remove(U1, by="owner")
    assert t.members == [] and [(type(e), e.user_id, e.removed_by) for e in t.events] == [
        (ot.TeamMemberRemoved, U1, "owner")]
    with pytest.raises(NotFound):
        t.remove(U1, by="owner")


def test_member_input_checks_every_member_and_every_field():
    members = [MemberInput(f"users/{U1}", "presales"), MemberInput(f"users/{U1}", "service"),
               MemberInput("李娜", "king"), MemberInput(f"users/{U2}", "")]
    prefixes = [f"template.members[{i}]" for i in range(4)]
    checked, violations = ot.check_member_inputs(members, prefixes)
    assert checked[0] == ot.CheckedMember(U1, "presales", False) and checked[1:] == [None, None, None]
    assert [v.field for v in violations] == ["template.members[1].user", "template.members[2].user",
                                             "template.members[2].role", "template.members[3].role"]
    unknown = ot.check_member_users([ot.CheckedMember(U3, "presales", False), None], ["a", "b"], {})
    assert [v.field for v in unknown] == ["a.user"]


def test_applying_a_template_adds_only_who_is_missing():
    t = team()
    t.add(user(U1), "account_manager", False, by="owner", now=NOW)
    t.events.clear()
    users = {u.id: u for u in (user(U1), user(U2), user("owner"))}
    template = ot.new_template(id="t1", owner_id="owner", display_name="铁三角", for_role="sales_rep",
                               members=[ot.CheckedMember(U1, "solution_manager", False),
                                        ot.CheckedMember("owner", "account_manager", False),
                                        ot.CheckedMember(U2, "delivery_manager", True)], users=users, now=NOW)
    added = t.apply(template, users, by="owner", now=NOW)
    assert [(m.user_id, m.role) for m in added] == [(U2, "delivery_manager")]
    assert [(m.user_id, m.role) for m in t.members] == [(U1, "account_manager"), (U2, "delivery_manager")]
    assert len(t.events) == 1
    assert t.apply(template, users, by="owner", now=NOW) == [] and len(t.events) == 1


def test_a_template_with_an_inactive_member_adds_no_one():
    users = {U1: user(U1), U2: user(U2)}
    template = ot.new_template(id="t1", owner_id="owner", display_name="x", for_role="",
                               members=[ot.CheckedMember(U1, "presales", False),
                                        ot.CheckedMember(U2, "service", False)], users=users, now=NOW)
    users[U2].active = False
    t = team()
    with pytest.raises(FailedPrecondition) as exc:
        t.apply(template, users, by="owner", now=NOW)
    assert exc.value.violations == [("INACTIVE_USER", f"users/{U2}")] and t.members == []
    with pytest.raises(FailedPrecondition):
        ot.new_template(id="t2", owner_id="owner", display_name="x", for_role="",
                        members=[ot.CheckedMember(U2, "service", False)], users=users, now=NOW)


def test_template_input():
    assert ot.check_template_input("  铁  三角 ", "sales_rep") == ("铁 三角", "sales_rep", [])
    _, _, violations = ot.check_template_input("", "king")
    assert [v.field for v in violations] == ["template.display_name", "template.for_role"]
