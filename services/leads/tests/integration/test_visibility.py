"""Who sees, lists, converts and creates which leads, with the organisation fed through the worker.

The tree of every test: a division headed by the director, a sales team below it headed by the
manager, a squad below that headed by the team lead, the owner in the squad. The director is two
levels above the team lead, three above the owner's department.
"""

import uuid
from dataclasses import dataclass

import grpc
import pytest

from shangji.leads.v1 import leads_pb2
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.calls import fails


@dataclass
class Tree:
    division: str
    team: str
    squad: str
    director: str
    manager: str
    lead: str  # heads the squad
    owner: str
    peer: str  # in the squad beside the owner, heads nothing
    sales_ops: str
    other_head: str  # heads a department beside the division


@pytest.fixture
def tree(org) -> Tree:
    division, director = org.head()
    team, manager = org.head(parent=division)
    squad, lead = org.head(parent=team)
    elsewhere, other_head = org.head()
    return Tree(division=division, team=team, squad=squad, director=director, manager=manager, lead=lead,
                owner=org.user(squad, roles=["sales_rep"]), peer=org.user(squad, roles=["sales_rep"]),
                sales_ops=org.user(elsewhere, roles=["sales_ops"]), other_head=other_head)


@pytest.fixture
def caller(as_user):
    """``caller(user_id)``: the leads API called as that user."""
    return lambda user_id: as_user(user_id)[1]


def create(leads, **kw) -> leads_pb2.Lead:
    # A company and phone of its own: a duplicate of another test's lead would be flagged, and whether its
    # original is named then depends on who reads it (leads README, conflicts).
    unique = uuid.uuid4().int
    fields = {"company": f"华东精密机械{unique % 10**6:06d}有限公司", "contact_name": "王经理",
              "phone": f"138 {unique % 10**8:08d}"}
    fields.update(kw)
    return leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(**fields)))


def not_found_answer(error: grpc.RpcError, name: str) -> tuple:
    """What a caller learns from a NOT_FOUND, with the name asked for taken out."""
    return error.code(), details_of(error)["reason"], error.details().replace(name, "<name>")


def listed(leads, page_size: int = 0) -> list[str]:
    names, token = [], ""
    while True:
        resp = leads.ListLeads(leads_pb2.ListLeadsRequest(page_size=page_size, page_token=token))
        names += [lead.name for lead in resp.leads]
        token = resp.next_page_token
        if not token:
            return names


# --- GetLead -------------------------------------------------------------------------------------

@pytest.mark.parametrize("viewer", ["owner", "lead", "manager", "director", "sales_ops"])
def test_the_owner_their_managers_up_the_tree_and_sales_ops_get_the_lead(tree, caller, viewer):
    created = create(caller(tree.owner))
    assert caller(getattr(tree, viewer)).GetLead(leads_pb2.GetLeadRequest(name=created.name)) == created


@pytest.mark.parametrize("viewer", ["peer", "other_head", "stranger"])
def test_anyone_else_gets_not_found_exactly_as_for_a_missing_lead(tree, caller, viewer):
    created = create(caller(tree.owner))
    user_id = str(uuid.uuid4()) if viewer == "stranger" else getattr(tree, viewer)
    leads = caller(user_id)
    hidden = fails(leads.GetLead, leads_pb2.GetLeadRequest(name=created.name))
    missing_name = f"leads/{uuid.uuid4()}"
    missing = fails(leads.GetLead, leads_pb2.GetLeadRequest(name=missing_name))
    assert not_found_answer(hidden, created.name) == not_found_answer(missing, missing_name)
    assert hidden.code() == grpc.StatusCode.NOT_FOUND


def test_the_manager_of_a_sibling_team_does_not_see(org, tree, caller):
    _, sibling_manager = org.head(parent=tree.division)
    created = create(caller(tree.owner))
    assert fails(caller(sibling_manager).GetLead, leads_pb2.GetLeadRequest(name=created.name)).code() == \
        grpc.StatusCode.NOT_FOUND


def test_a_deactivated_manager_or_sales_ops_no_longer_sees(org, tree, caller):
    created = create(caller(tree.owner))
    for user_id in (tree.director, tree.sales_ops):
        org.deactivate(user_id)
        # The front refuses a deactivated user's token outright (shangji_kit.auth).
        assert fails(caller(user_id).GetLead, leads_pb2.GetLeadRequest(name=created.name)).code() == \
            grpc.StatusCode.PERMISSION_DENIED


def test_moving_the_owners_department_changes_who_sees_without_touching_the_lead(org, tree, caller):
    created = create(caller(tree.owner))
    elsewhere, new_head = org.head()
    org.change_department(tree.squad, parent=elsewhere)
    request = leads_pb2.GetLeadRequest(name=created.name)
    assert caller(new_head).GetLead(request) == created
    assert caller(tree.lead).GetLead(request) == created  # still heads the squad itself
    for old in (tree.manager, tree.director):
        assert fails(caller(old).GetLead, request).code() == grpc.StatusCode.NOT_FOUND


# --- ListLeads -----------------------------------------------------------------------------------

def test_list_pages_through_what_each_caller_may_see_newest_first(tree, caller):
    owners = caller(tree.owner)
    own = [create(owners).name for _ in range(3)]
    peers = [create(caller(tree.peer)).name for _ in range(2)]
    leads_own = [create(caller(tree.lead)).name]
    managers = [create(caller(tree.manager)).name]
    assert listed(owners, page_size=2) == own[::-1]
    assert listed(caller(tree.peer)) == peers[::-1]
    assert listed(caller(tree.lead), page_size=1) == (own + peers + leads_own)[::-1]
    assert listed(caller(tree.director), page_size=3) == (own + peers + leads_own + managers)[::-1]
    assert listed(caller(tree.other_head)) == []
    assert listed(caller(str(uuid.uuid4()))) == []


def test_sales_ops_lists_everyones_leads(tree, caller):
    mine = [create(caller(user)).name for user in (tree.owner, tree.other_head, str(uuid.uuid4()))]
    everything = listed(caller(tree.sales_ops), page_size=200)
    assert set(mine) <= set(everything)
    assert everything.index(mine[2]) < everything.index(mine[1]) < everything.index(mine[0])
    assert len(everything) == len(set(everything))


def test_a_page_is_a_full_page_and_the_last_carries_no_token(tree, caller):
    owners = caller(tree.owner)
    for _ in range(4):
        create(owners)
    first = owners.ListLeads(leads_pb2.ListLeadsRequest(page_size=2))
    second = owners.ListLeads(leads_pb2.ListLeadsRequest(page_size=2, page_token=first.next_page_token))
    assert (len(first.leads), len(second.leads)) == (2, 2)
    assert first.next_page_token and not second.next_page_token
    assert first.leads[0].owner == f"users/{tree.owner}" and first.leads[0].etag == "1"


@pytest.mark.parametrize(("fields", "field"), [
    ({"page_size": -1}, "page_size"),
    ({"page_token": "not-a-token"}, "page_token"),
])
def test_bad_paging_is_invalid_argument_naming_the_field(caller, fields, field):
    exc = fails(caller(str(uuid.uuid4())).ListLeads, leads_pb2.ListLeadsRequest(**fields))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc)["fields"] == [field]


# --- ConvertLead ---------------------------------------------------------------------------------

@pytest.mark.parametrize("converter", ["owner", "lead", "director"])
def test_the_owner_or_a_manager_above_them_may_convert(tree, caller, converter):
    created = create(caller(tree.owner))
    converted = caller(getattr(tree, converter)).ConvertLead(leads_pb2.ConvertLeadRequest(name=created.name))
    assert converted.state == leads_pb2.Lead.State.CONVERTED and converted.owner == f"users/{tree.owner}"


def test_sales_ops_sees_the_lead_but_may_not_convert_it(tree, caller, query):
    created = create(caller(tree.owner))
    exc = fails(caller(tree.sales_ops).ConvertLead, leads_pb2.ConvertLeadRequest(name=created.name))
    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    assert query("SELECT state, version FROM leads WHERE id = :id", id=created.id) == [("OPEN", 1)]
    assert query("SELECT count(*) FROM outbox WHERE subject = :s AND type = 'shangji.leads.v1.LeadConverted'",
                 s=created.name) == [(0,)]


def test_someone_who_cannot_see_the_lead_gets_not_found_when_converting(tree, caller):
    created = create(caller(tree.owner))
    exc = fails(caller(tree.peer).ConvertLead, leads_pb2.ConvertLeadRequest(name=created.name))
    assert exc.code() == grpc.StatusCode.NOT_FOUND


# --- CreateLead for someone else -----------------------------------------------------------------

@pytest.mark.parametrize("creator", ["lead", "director", "sales_ops"])
def test_a_manager_above_the_owner_or_sales_ops_may_create_a_lead_for_them(tree, caller, creator):
    created = create(caller(getattr(tree, creator)), owner=f"users/{tree.owner}")
    assert created.owner == f"users/{tree.owner}"
    assert caller(tree.owner).GetLead(leads_pb2.GetLeadRequest(name=created.name)) == created


@pytest.mark.parametrize("creator", ["peer", "other_head", "stranger"])
def test_anyone_else_may_not_create_a_lead_for_someone(tree, caller, query, creator):
    user_id = str(uuid.uuid4()) if creator == "stranger" else getattr(tree, creator)
    before = query("SELECT count(*) FROM leads")[0][0]
    exc = fails(caller(user_id).CreateLead, leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company="ACME", contact_name="王经理", phone="13800138000", owner=f"users/{tree.owner}")))
    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    assert query("SELECT count(*) FROM leads")[0][0] == before


def test_a_manager_may_not_create_for_their_own_manager(tree, caller):
    exc = fails(caller(tree.lead).CreateLead, leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company="ACME", contact_name="王经理", phone="13800138000", owner=f"users/{tree.manager}")))
    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED


def test_an_inactive_owner_is_a_failed_precondition(org, tree, caller):
    org.deactivate(tree.owner)
    exc = fails(caller(tree.director).CreateLead, leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company="ACME", contact_name="王经理", phone="13800138000", owner=f"users/{tree.owner}")))
    assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details_of(exc)["reason"] == "INACTIVE_USER"


def test_an_owner_teams_has_not_told_us_about_is_an_invalid_owner(tree, caller):
    exc = fails(caller(tree.sales_ops).CreateLead, leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company="ACME", contact_name="王经理", phone="13800138000", owner=f"users/{uuid.uuid4()}")))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc)["fields"] == ["lead.owner"]


def test_the_caller_as_owner_needs_no_word_from_teams_named_or_not(caller):
    user_id = str(uuid.uuid4())  # not in the projection (teams' event not here yet)
    leads = caller(user_id)
    assert create(leads).owner == f"users/{user_id}"
    assert create(leads, owner=f"users/{user_id}").owner == f"users/{user_id}"
