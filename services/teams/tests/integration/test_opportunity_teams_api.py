"""Opportunity teams and team templates through the teams front in-process, against the real teams database."""

import uuid

import grpc
import pytest

from shangji.teams.v1 import teams_pb2

INVALID, NOT_FOUND, DENIED = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                              grpc.StatusCode.PERMISSION_DENIED)
PRECONDITION, EXISTS = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS


def member(user: teams_pb2.User, role: str = "presales", can_edit: bool = False) -> teams_pb2.OpportunityTeamMember:
    return teams_pb2.OpportunityTeamMember(user=user.name, role=role, can_edit=can_edit)


def add(caller, deal: str, m: teams_pb2.OpportunityTeamMember) -> teams_pb2.OpportunityTeam:
    return caller.AddOpportunityTeamMember(teams_pb2.AddOpportunityTeamMemberRequest(
        team=f"opportunities/{deal}/team", member=m))


@pytest.fixture
def org(admin, new_user, new_department, new_opportunity, as_user):
    """A head over an owner's department, the owner and their deal, two colleagues and an outsider."""
    head = new_user(display_name="王强")
    centre = new_department("销售中心", head=head)
    south = new_department("华南销售部", parent=centre)
    owner = new_user(display_name="李娜", department=south.name)

    class Org:
        pass

    o = Org()
    o.head, o.owner = head, owner
    o.solution, o.delivery = new_user(display_name="陈静"), new_user(display_name="赵磊")
    o.outsider = new_user(display_name="刘洋", department=centre.name)
    o.deal = new_opportunity(owner)
    o.team = f"opportunities/{o.deal}/team"
    o.as_owner = as_user(owner.id)
    return o


def test_the_owner_adds_members_with_an_event_each_and_the_team_shows_the_directory(org, outbox, db):
    mark = outbox.mark()
    add(org.as_owner, org.deal, member(org.solution, "solution_manager", can_edit=True))
    team = add(org.as_owner, org.deal, member(org.delivery, "delivery_manager"))
    assert (team.name, team.owner) == (org.team, org.owner.name)
    assert [(m.user, m.role, m.can_edit) for m in team.members] == [
        (org.solution.name, "solution_manager", True), (org.delivery.name, "delivery_manager", False)]
    assert [(m.display_name, m.email, m.phone) for m in team.members] == [
        (org.solution.display_name, org.solution.email, org.solution.phone),
        (org.delivery.display_name, org.delivery.email, org.delivery.phone)]
    assert all(m.HasField("add_time") for m in team.members)
    events = outbox.since(mark)
    assert [(t, s) for t, s, _ in events] == [("OpportunityTeamMemberAdded", org.team)] * 2
    assert events[0][2] == {"opportunity": f"opportunities/{org.deal}", "addedBy": org.owner.name,
                            "member": {**events[0][2]["member"], "user": org.solution.name,
                                       "role": "solution_manager", "canEdit": True}}
    assert db.scalar("SELECT count(*) FROM team_members WHERE opportunity_id = :o", o=org.deal) == 2


def test_a_head_above_the_owner_and_an_admin_may_add_others_may_not(org, as_user, admin, new_user, fails, db):
    ops = new_user(roles=["sales_ops"])  # sales ops see every team but do not run it
    before = db.state()
    for caller_id in (org.outsider.id, org.solution.id, ops.id):  # no user at all: UNAUTHENTICATED
        failure = fails(as_user(caller_id).AddOpportunityTeamMember, teams_pb2.AddOpportunityTeamMemberRequest(
            team=org.team, member=member(org.delivery)))
        assert (failure.code, failure.reason) == (DENIED, "NOT_TEAM_MANAGER")
    assert db.state() == before
    add(as_user(org.head.id), org.deal, member(org.solution))
    add(admin, org.deal, member(org.delivery))


def test_an_unknown_opportunity_is_not_found(org, fails):
    failure = fails(org.as_owner.AddOpportunityTeamMember, teams_pb2.AddOpportunityTeamMemberRequest(
        team=f"opportunities/{uuid.uuid4()}/team", member=member(org.solution)))
    assert failure.code == NOT_FOUND
    for bad in (f"opportunities/{uuid.uuid4()}", "teams/1", "opportunities/x/team"):
        failure = fails(org.as_owner.AddOpportunityTeamMember, teams_pb2.AddOpportunityTeamMemberRequest(
            team=bad, member=member(org.solution)))
        assert (failure.code, failure.fields) == (INVALID, ["team"])


def test_bad_members_are_refused_precisely_and_change_nothing(org, admin, new_user, fails, db):
    inactive = new_user()
    admin.DeactivateUser(teams_pb2.DeactivateUserRequest(name=inactive.name, successor=org.delivery.name))
    add(org.as_owner, org.deal, member(org.solution))
    before = db.state()
    cases = [
        (member(org.solution, "account_manager"), (EXISTS, "ALREADY_ON_TEAM", [])),  # already a member
        (member(org.owner), (EXISTS, "ALREADY_ON_TEAM", [])),  # the owner is on the team already
        (member(inactive), (PRECONDITION, "INACTIVE_USER", [])),
        (teams_pb2.OpportunityTeamMember(user=f"users/{uuid.uuid4()}", role="presales"),
         (INVALID, "INVALID_ARGUMENT", ["member.user"])),
        (teams_pb2.OpportunityTeamMember(user="李娜", role="boss"),
         (INVALID, "INVALID_ARGUMENT", ["member.user", "member.role"])),
        (teams_pb2.OpportunityTeamMember(user=org.delivery.name), (INVALID, "INVALID_ARGUMENT", ["member.role"])),
    ]
    for m, expected in cases:
        failure = fails(org.as_owner.AddOpportunityTeamMember,
                        teams_pb2.AddOpportunityTeamMemberRequest(team=org.team, member=m))
        assert (failure.code, failure.reason, failure.fields) == expected, m
    assert db.state() == before


def test_remove_a_member_or_leave_and_a_non_member_is_not_found(org, as_user, outbox, fails, db):
    add(org.as_owner, org.deal, member(org.solution))
    add(org.as_owner, org.deal, member(org.delivery))
    mark = outbox.mark()
    team = org.as_owner.RemoveOpportunityTeamMember(teams_pb2.RemoveOpportunityTeamMemberRequest(
        team=org.team, user=org.solution.name))
    assert [m.user for m in team.members] == [org.delivery.name]
    as_user(org.delivery.id).RemoveOpportunityTeamMember(teams_pb2.RemoveOpportunityTeamMemberRequest(
        team=org.team, user=org.delivery.name))  # a member may leave on their own
    events = outbox.since(mark)
    assert [(t, d["user"], d["removedBy"]) for t, _, d in events] == [
        ("OpportunityTeamMemberRemoved", org.solution.name, org.owner.name),
        ("OpportunityTeamMemberRemoved", org.delivery.name, org.delivery.name)]
    before = db.state()
    failure = fails(org.as_owner.RemoveOpportunityTeamMember, teams_pb2.RemoveOpportunityTeamMemberRequest(
        team=org.team, user=org.solution.name))
    assert (failure.code, failure.reason) == (NOT_FOUND, "NOT_A_MEMBER")
    failure = fails(as_user(org.outsider.id).RemoveOpportunityTeamMember,
                    teams_pb2.RemoveOpportunityTeamMemberRequest(team=org.team, user=org.solution.name))
    assert failure.code == DENIED
    assert db.state() == before


def test_the_team_is_visible_to_owner_members_managers_and_sales_ops_only(org, as_user, new_user, admin, fails):
    add(org.as_owner, org.deal, member(org.solution))
    req = teams_pb2.GetOpportunityTeamRequest(name=org.team)
    ops = new_user(roles=["sales_ops"])
    for viewer in (org.owner, org.solution, org.head, ops):
        team = as_user(viewer.id).GetOpportunityTeam(req)
        assert [(m.user, m.email, m.phone) for m in team.members] == [
            (org.solution.name, org.solution.email, org.solution.phone)], viewer.display_name
    assert admin.GetOpportunityTeam(req).owner == org.owner.name
    for outsider in (org.outsider.id, org.delivery.id):  # no user at all: UNAUTHENTICATED
        assert fails(as_user(outsider).GetOpportunityTeam, req).code == NOT_FOUND
    missing = teams_pb2.GetOpportunityTeamRequest(name=f"opportunities/{uuid.uuid4()}/team")
    assert fails(admin.GetOpportunityTeam, missing).code == NOT_FOUND


def test_templates_are_the_callers_own_and_checked_like_members(org, as_user, admin, new_user, fails, db):
    tpl = org.as_owner.CreateTeamTemplate(teams_pb2.CreateTeamTemplateRequest(template=teams_pb2.TeamTemplate(
        display_name="铁三角", for_role="sales_rep",
        members=[member(org.solution, "solution_manager"), member(org.delivery, "delivery_manager", True)])))
    assert tpl.name.startswith("teamTemplates/") and tpl.owner == org.owner.name
    assert [(m.user, m.role, m.can_edit) for m in tpl.members] == [
        (org.solution.name, "solution_manager", False), (org.delivery.name, "delivery_manager", True)]
    listed = org.as_owner.ListTeamTemplates(teams_pb2.ListTeamTemplatesRequest())
    assert [t.name for t in listed.templates] == [tpl.name]
    assert as_user(org.head.id).ListTeamTemplates(teams_pb2.ListTeamTemplatesRequest()).templates == []

    inactive = new_user()
    admin.DeactivateUser(teams_pb2.DeactivateUserRequest(name=inactive.name, successor=org.delivery.name))
    before = db.state()
    failure = fails(org.as_owner.CreateTeamTemplate, teams_pb2.CreateTeamTemplateRequest(
        template=teams_pb2.TeamTemplate(display_name="", for_role="king", members=[
            member(org.solution), member(org.solution),
            teams_pb2.OpportunityTeamMember(user=f"users/{uuid.uuid4()}", role="presales"),
            teams_pb2.OpportunityTeamMember(user=org.delivery.name)])))
    assert (failure.code, failure.fields) == (INVALID, [
        "template.display_name", "template.for_role", "template.members[1].user", "template.members[3].role",
        "template.members[2].user"])
    failure = fails(org.as_owner.CreateTeamTemplate, teams_pb2.CreateTeamTemplateRequest(
        template=teams_pb2.TeamTemplate(display_name="空")))
    assert failure.fields == ["template.members"]
    failure = fails(org.as_owner.CreateTeamTemplate, teams_pb2.CreateTeamTemplateRequest(
        template=teams_pb2.TeamTemplate(display_name="旧班子", members=[member(inactive)])))
    assert (failure.code, failure.reason) == (PRECONDITION, "INACTIVE_USER")
    assert db.state() == before


def test_applying_a_template_adds_the_missing_members_one_event_each_in_one_transaction(org, new_user, outbox,
                                                                                         fails, as_user, db):
    presales = new_user(display_name="孙悦")
    add(org.as_owner, org.deal, member(org.solution, "account_manager"))
    tpl = org.as_owner.CreateTeamTemplate(teams_pb2.CreateTeamTemplateRequest(template=teams_pb2.TeamTemplate(
        display_name="铁三角", members=[member(org.solution, "solution_manager"), member(org.owner, "account_manager"),
                                        member(org.delivery, "delivery_manager"), member(presales, "presales")])))
    mark = outbox.mark()
    team = org.as_owner.ApplyTeamTemplate(teams_pb2.ApplyTeamTemplateRequest(team=org.team, template=tpl.name))
    # the member already on the team keeps their role; the owner is not added as a member
    assert [(m.user, m.role) for m in team.members] == [
        (org.solution.name, "account_manager"), (org.delivery.name, "delivery_manager"), (presales.name, "presales")]
    events = outbox.since(mark)
    assert [(t, d["member"]["user"]) for t, _, d in events] == [
        ("OpportunityTeamMemberAdded", org.delivery.name), ("OpportunityTeamMemberAdded", presales.name)]
    assert db.scalar("SELECT count(DISTINCT xmin::text) FROM outbox WHERE position > :m", m=mark) == 1
    before = db.state()
    again = org.as_owner.ApplyTeamTemplate(teams_pb2.ApplyTeamTemplateRequest(team=org.team, template=tpl.name))
    assert again == team and db.state() == before
    # Someone else's template is as good as missing, even to a head who may manage the team.
    failure = fails(as_user(org.head.id).ApplyTeamTemplate,
                    teams_pb2.ApplyTeamTemplateRequest(team=org.team, template=tpl.name))
    assert failure.code == NOT_FOUND
    failure = fails(as_user(org.outsider.id).ApplyTeamTemplate,
                    teams_pb2.ApplyTeamTemplateRequest(team=org.team, template=tpl.name))
    assert failure.code == DENIED


def test_a_template_member_who_left_since_stops_the_whole_apply(org, admin, new_user, fails, db):
    leaver = new_user()
    tpl = org.as_owner.CreateTeamTemplate(teams_pb2.CreateTeamTemplateRequest(template=teams_pb2.TeamTemplate(
        display_name="铁三角", members=[member(org.solution), member(leaver)])))
    admin.DeactivateUser(teams_pb2.DeactivateUserRequest(name=leaver.name, successor=org.delivery.name))
    before = db.state()
    failure = fails(org.as_owner.ApplyTeamTemplate, teams_pb2.ApplyTeamTemplateRequest(team=org.team,
                                                                                       template=tpl.name))
    assert (failure.code, failure.reason, failure.preconditions) == (PRECONDITION, "INACTIVE_USER",
                                                                      [("INACTIVE_USER", leaver.name)])
    assert db.state() == before


def test_after_a_transfer_the_new_owner_runs_the_team(org, admin, as_user, fails):
    admin.TransferOwnership(teams_pb2.TransferOwnershipRequest(from_user=org.owner.name, to_user=org.delivery.name))
    failure = fails(org.as_owner.AddOpportunityTeamMember, teams_pb2.AddOpportunityTeamMemberRequest(
        team=org.team, member=member(org.solution)))
    assert failure.code == DENIED
    team = add(as_user(org.delivery.id), org.deal, member(org.solution))
    assert team.owner == org.delivery.name
