"""Each teams workflow's rules through its use cases, against in-memory fakes (no servers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shangji_kit.auth import Principal
from shangji_kit.clock import fixed
from shangji_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from teams.domain import commands
from teams.service_layer import departments, opportunity_owners, opportunity_teams, team_templates, users

from .fakes import FakeTeamsUnitOfWork

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CLOCK = fixed(NOW)
BOOTSTRAP = Principal(user_id="bootstrap", roles=("admin",))


def principal(user_id: str, *roles: str) -> Principal:
    return Principal(user_id=user_id, roles=roles)


def fields(exc: InvalidArgument) -> list[str]:
    return [v.field for v in exc.violations]


@pytest.fixture
def uow() -> FakeTeamsUnitOfWork:
    return FakeTeamsUnitOfWork()


def make_user(uow, email: str, *, department: str = "", roles=("sales_rep",), by: Principal = BOOTSTRAP,
              request_id: str = ""):
    return users.create_user(commands.CreateUser(commands.UserInput(
        display_name=email.split("@")[0], email=email, department=f"departments/{department}" if department else "",
        roles=tuple(roles)), request_id=request_id), by, uow, CLOCK)


def make_department(uow, name: str, parent: str = "", head: str = "", request_id: str = ""):
    return departments.create_department(commands.CreateDepartment(commands.DepartmentInput(
        display_name=name, parent=f"departments/{parent}" if parent else "", head=f"users/{head}" if head else ""),
        request_id=request_id), BOOTSTRAP, uow, CLOCK)


# --- users ------------------------------------------------------------------------------------------

def test_an_admin_creates_a_user_once_per_request_id_of_theirs(uow):
    first = make_user(uow, "wang@example.com", request_id="r1")
    again = make_user(uow, "wang@example.com", request_id="r1")
    assert again.id == first.id and len(uow.users.committed()) == 1
    with pytest.raises(AlreadyExists) as exc:   # another admin's "r1" is theirs: a new user, whose email is taken
        make_user(uow, "wang@example.com", by=Principal("other-bootstrap", ("admin",)), request_id="r1")
    assert exc.value.reason == "EMAIL_TAKEN"
    assert [m.DESCRIPTOR.name for m, _ in uow.messages] == ["UserCreated"]
    assert [p.placed_under for p in uow.placements.committed()] == [None]


def test_a_non_admin_is_refused_before_the_input_is_read(uow):
    rep = make_user(uow, "rep@example.com")
    with pytest.raises(PermissionDenied):
        users.create_user(commands.CreateUser(commands.UserInput(email="not an email")), principal(rep.id), uow)
    with pytest.raises(PermissionDenied):
        users.update_user(commands.UpdateUser("nonsense", commands.UserInput(), ("nope",)), principal(rep.id), uow)
    with pytest.raises(PermissionDenied):
        departments.update_department(commands.UpdateDepartment("x", commands.DepartmentInput(), ()),
                                      principal(rep.id), uow)


def test_an_update_names_every_bad_field_and_keeps_the_mask_rule(uow):
    rep = make_user(uow, "rep@example.com")
    with pytest.raises(InvalidArgument) as exc:
        users.update_user(commands.UpdateUser(rep.name, commands.UserInput(), ()), BOOTSTRAP, uow)
    assert fields(exc.value) == ["update_mask"]
    with pytest.raises(InvalidArgument) as exc:
        users.update_user(commands.UpdateUser(rep.name, commands.UserInput(display_name="", email="nope"),
                                              ("display_name", "email")), BOOTSTRAP, uow)
    assert sorted(fields(exc.value)) == ["user.display_name", "user.email"]
    renamed = users.update_user(commands.UpdateUser(rep.name, commands.UserInput(display_name="小王"),
                                                    ("display_name", "display_name")), BOOTSTRAP, uow, CLOCK)
    assert renamed.display_name == "小王" and renamed.version == rep.version + 1


def test_deactivating_a_user_hands_their_deals_to_the_successor(uow):
    rep, successor = make_user(uow, "rep@example.com"), make_user(uow, "next@example.com")
    deal = str(uuid.uuid4())
    opportunity_owners.record_opportunity_owner(_event(), uow, commands.RecordOpportunityOwner(deal, rep.id))
    gone = users.deactivate_user(commands.DeactivateUser(rep.name, successor.name, rep.etag), BOOTSTRAP, uow, CLOCK)
    assert not gone.active
    assert uow.opportunity_teams.get(deal).owner_id == successor.id
    assert [m.DESCRIPTOR.name for m, _ in uow.messages][-2:] == ["UserDeactivated", "OwnershipTransferred"]


def test_a_head_moves_their_reports_records_and_a_peer_may_not(uow):
    root = make_department(uow, "销售部")
    head = make_user(uow, "head@example.com", department=root.id, roles=("sales_manager",))
    departments.update_department(commands.UpdateDepartment(root.name, commands.DepartmentInput(head=head.name),
                                                            ("head",)), BOOTSTRAP, uow, CLOCK)
    rep, peer = make_user(uow, "rep@example.com", department=root.id), make_user(uow, "peer@example.com")
    with pytest.raises(PermissionDenied):
        users.transfer_ownership(commands.TransferOwnership(rep.name, peer.name), principal(peer.id), uow)
    assert users.transfer_ownership(commands.TransferOwnership(rep.name, peer.name), principal(head.id), uow, CLOCK)


def test_the_directory_hides_contacts_from_strangers(uow):
    a, b = make_user(uow, "a@example.com"), make_user(uow, "b@example.com")
    assert users.get_user(b.id, principal(a.id), uow).email == ""
    assert users.get_user(b.id, principal(b.id), uow).email == "b@example.com"


# --- departments ------------------------------------------------------------------------------------

def test_moving_a_department_rewrites_its_subtree_and_announces_each(uow):
    a, b = make_department(uow, "A"), make_department(uow, "B")
    child = make_department(uow, "A1", parent=a.id)
    grandchild = make_department(uow, "A1x", parent=child.id)
    moved = departments.update_department(commands.UpdateDepartment(
        child.name, commands.DepartmentInput(parent=b.name), ("parent",), child.etag), BOOTSTRAP, uow, CLOCK)
    assert moved.path == f"/{b.id}/{child.id}/"
    assert departments.get_department(grandchild.id, uow).path == f"/{b.id}/{child.id}/{grandchild.id}/"
    assert [m.DESCRIPTOR.name for m, _ in uow.messages][-2:] == ["DepartmentChanged", "DepartmentChanged"]
    with pytest.raises(FailedPrecondition) as exc:   # under its own descendant: a cycle
        departments.update_department(commands.UpdateDepartment(
            b.name, commands.DepartmentInput(parent=grandchild.name), ("parent",)), BOOTSTRAP, uow)
    assert exc.value.reason == "DEPARTMENT_CYCLE"
    assert [p.placed_under for p in departments.list_placement_history(child.name, uow)] == [a.id, b.id]


def test_a_department_retry_returns_the_first_and_lists_page(uow):
    first = make_department(uow, "A", request_id="d1")
    assert make_department(uow, "A", request_id="d1").id == first.id
    make_department(uow, "B")
    page = departments.list_departments(commands.ListDepartments(page_size=1), uow)
    rest = departments.list_departments(commands.ListDepartments(page_size=1, page_token=page.next_page_token), uow)
    assert len(page.items) == 1 and len(rest.items) == 1 and rest.next_page_token == ""


# --- opportunity owners and teams -------------------------------------------------------------------

def _event():
    from shangji_kit.inbox import Delivery

    return Delivery("teams.on_opportunity_registered", str(uuid.uuid4()), "shangji.opportunities.v1.Registered")


def test_an_owner_is_learnt_once_per_event(uow):
    owner, deal, event = str(uuid.uuid4()), str(uuid.uuid4()), _event()
    cmd = commands.RecordOpportunityOwner(deal, owner)
    assert opportunity_owners.record_opportunity_owner(event, uow, cmd) is True
    assert opportunity_owners.record_opportunity_owner(event, uow, cmd) is False
    assert opportunity_owners.record_opportunity_owner(_event(), uow, cmd) is False   # another event, known owner
    assert uow.committed == 2


def test_the_owner_manages_the_team_and_an_outsider_sees_none_of_it(uow):
    owner, presales, stranger = (make_user(uow, f"{n}@example.com", roles=r) for n, r in (
        ("owner", ("sales_rep",)), ("presales", ("presales",)), ("stranger", ("sales_rep",))))
    deal = str(uuid.uuid4())
    opportunity_owners.record_opportunity_owner(_event(), uow, commands.RecordOpportunityOwner(deal, owner.id))
    team = f"opportunities/{deal}/team"
    member = commands.MemberInput(user=presales.name, role="presales")
    with pytest.raises(PermissionDenied):
        opportunity_teams.add_team_member(commands.AddTeamMember(team, member), principal(stranger.id), uow)
    view = opportunity_teams.add_team_member(commands.AddTeamMember(team, member), principal(owner.id), uow, CLOCK)
    assert view.team.member_ids == {presales.id}
    assert opportunity_teams.get_opportunity_team(team, principal(presales.id), uow).team.owner_id == owner.id
    with pytest.raises(NotFound):
        opportunity_teams.get_opportunity_team(team, principal(stranger.id), uow)
    # Team mates see each other's contacts.
    assert users.get_user(presales.id, principal(owner.id), uow).email == "presales@example.com"


def test_templates_are_their_owners_and_need_a_user(uow):
    owner, presales = make_user(uow, "owner@example.com"), make_user(uow, "p@example.com", roles=("presales",))
    members = (commands.MemberInput(user=presales.name, role="presales"),)
    with pytest.raises(Unauthenticated):
        team_templates.create_team_template(commands.CreateTeamTemplate("常用", members=members), BOOTSTRAP, uow)
    template = team_templates.create_team_template(commands.CreateTeamTemplate("常用", members=members),
                                                   principal(owner.id), uow, CLOCK)
    assert [t.id for t in team_templates.list_team_templates(0, "", principal(owner.id), uow).items] == [template.id]
    assert team_templates.list_team_templates(0, "", principal(presales.id), uow).items == []
    deal = str(uuid.uuid4())
    opportunity_owners.record_opportunity_owner(_event(), uow, commands.RecordOpportunityOwner(deal, owner.id))
    view = opportunity_teams.apply_team_template(commands.ApplyTeamTemplate(
        f"opportunities/{deal}/team", template.name), principal(owner.id), uow, CLOCK)
    assert view.team.member_ids == {presales.id}
