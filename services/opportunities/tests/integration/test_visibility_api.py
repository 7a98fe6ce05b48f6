"""Who sees and who may change a deal, through the front in-process, with the organisation told by teams'
events to the worker's handlers (the session's real database)."""

import uuid
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import field_mask_pb2

from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.calls import fails


@dataclass
class Scene:
    """root (head: top) > region (head: mid) > branch (head: lead, where the owner works);
    root > sibling (head: sib). Plus sales ops, an admin, an unrelated rep, and a deactivated head of root."""

    owner: str
    colleague: str  # works in region, owns a deal of their own
    top: str
    mid: str
    lead: str
    sib: str
    sib_rep: str
    ops: str
    admin: str
    stranger: str
    gone_head: str
    deal: str
    colleague_deal: str
    sib_deal: str


@pytest.fixture
def scene(org, register) -> Scene:
    top, mid, lead, sib, gone_head = (org.user(roles=("sales_manager",)) for _ in range(5))
    root = org.department(head=top)
    region = org.department(parent=root, head=mid)
    branch = org.department(parent=region, head=lead)
    sibling = org.department(parent=root, head=sib)
    # Heads are people too: put them in their departments.
    for user_id, dept in ((top, root), (mid, region), (lead, branch), (sib, sibling)):
        org.user(user_id, department=dept, roles=("sales_manager",), kind="UserUpdated")
    # A second root with the same tree shape whose head was deactivated: they see nothing of theirs any more.
    owner = org.user(department=branch)
    colleague = org.user(department=region)
    sib_rep = org.user(department=sibling)
    gone_root = org.department(head=gone_head)
    org.user(gone_head, department=gone_root, active=False, kind="UserDeactivated")
    ops = org.user(roles=("sales_ops",))
    admin = org.user(roles=("admin",))
    stranger = org.user(department=branch)
    return Scene(owner=owner, colleague=colleague, top=top, mid=mid, lead=lead, sib=sib, sib_rep=sib_rep, ops=ops,
                 admin=admin, stranger=stranger, gone_head=gone_head, deal=register(owner),
                 colleague_deal=register(colleague), sib_deal=register(sib_rep))


def get(as_user, user_id: str, name: str) -> opportunities_pb2.Opportunity:
    return as_user(user_id).GetOpportunity(opportunities_pb2.GetOpportunityRequest(name=name))


def listed(as_user, user_id: str) -> list[str]:
    caller, names, token = as_user(user_id), [], ""
    while True:
        resp = caller.ListOpportunities(opportunities_pb2.ListOpportunitiesRequest(page_size=2, page_token=token))
        names += [o.name for o in resp.opportunities]
        token = resp.next_page_token
        if not token:
            return names


def sees(as_user, user_id: str, name: str) -> bool:
    try:
        get(as_user, user_id, name)
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.NOT_FOUND
        return False
    return True


def test_owner_managers_above_and_global_roles_see_a_deal_others_do_not(as_user, scene):
    s = scene
    allowed = {s.owner, s.lead, s.mid, s.top, s.ops, s.admin}
    for user_id in allowed | {s.colleague, s.sib, s.sib_rep, s.stranger}:
        assert sees(as_user, user_id, s.deal) is (user_id in allowed), user_id
        assert (s.deal in listed(as_user, user_id)) is (user_id in allowed), user_id
    # A deactivated head is refused by the front (shangji_kit.auth) before visibility is asked.
    gone = fails(as_user(s.gone_head).GetOpportunity, opportunities_pb2.GetOpportunityRequest(name=s.deal))
    assert gone.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_manager_two_levels_up_lists_exactly_the_deals_below_them_newest_first(as_user, scene, register):
    s = scene
    later = register(s.owner)
    assert listed(as_user, s.top) == [later, s.sib_deal, s.colleague_deal, s.deal]
    assert listed(as_user, s.mid) == [later, s.colleague_deal, s.deal]
    assert listed(as_user, s.lead) == [later, s.deal]
    assert listed(as_user, s.sib) == [s.sib_deal]
    assert listed(as_user, s.stranger) == []


def test_sales_ops_lists_everyone_s_deals(as_user, scene):
    everything = set(listed(as_user, scene.ops))
    assert {scene.deal, scene.colleague_deal, scene.sib_deal} <= everything


def test_an_unseen_deal_is_not_found_exactly_as_a_missing_one(as_user, scene):
    hidden = fails(as_user(scene.stranger).GetOpportunity, opportunities_pb2.GetOpportunityRequest(name=scene.deal))
    missing_name = f"opportunities/{uuid.uuid4()}"
    missing = fails(as_user(scene.stranger).GetOpportunity,
                    opportunities_pb2.GetOpportunityRequest(name=missing_name))
    assert hidden.code() == missing.code() == grpc.StatusCode.NOT_FOUND
    assert hidden.details() == missing.details().replace(missing_name, scene.deal)
    assert details_of(hidden) == details_of(missing) | {"metadata": {"resource": scene.deal}}


def test_a_team_member_sees_the_deal_until_they_leave_the_team(as_user, scene, org):
    s = scene
    org.add_member(s.deal, s.stranger)
    assert sees(as_user, s.stranger, s.deal) and listed(as_user, s.stranger) == [s.deal]
    org.remove_member(s.deal, s.stranger)
    assert not sees(as_user, s.stranger, s.deal) and listed(as_user, s.stranger) == []


def test_a_deactivated_user_is_refused_even_their_own_deals(as_user, scene, org, register):
    s = scene
    org.add_member(s.colleague_deal, s.mid)
    own = register(s.mid)
    org.user(s.mid, active=False, kind="UserDeactivated")
    # The front refuses a deactivated user's token (shangji_kit.auth); their deals moved to a successor.
    for call, request in ((as_user(s.mid).ListOpportunities, opportunities_pb2.ListOpportunitiesRequest()),
                          (as_user(s.mid).GetOpportunity, opportunities_pb2.GetOpportunityRequest(name=own))):
        assert fails(call, request).code() == grpc.StatusCode.PERMISSION_DENIED


def test_someone_teams_has_not_told_us_about_sees_their_own_and_their_teams_deals(as_user, register, org):
    newcomer = str(uuid.uuid4())
    own, teamed, other = register(newcomer), register(str(uuid.uuid4())), register(str(uuid.uuid4()))
    org.add_member(teamed, newcomer)
    assert listed(as_user, newcomer) == [teamed, own]
    assert not sees(as_user, newcomer, other)


def test_a_re_headed_department_moves_visibility_to_the_new_head(as_user, org, register):
    old, new = org.user(), org.user()
    dept = org.department(head=old)
    rep = org.user(department=dept)
    deal = register(rep)
    assert sees(as_user, old, deal) and not sees(as_user, new, deal)
    org.department(dept, head=new)
    assert sees(as_user, new, deal) and not sees(as_user, old, deal)


# --- UpdateOpportunity -------------------------------------------------------------------------------------

def update(as_user, user_id: str, name: str, title: str = "智能仓储系统三期", *, paths=("title",),
           etag: str = "") -> opportunities_pb2.Opportunity:
    return as_user(user_id).UpdateOpportunity(opportunities_pb2.UpdateOpportunityRequest(
        opportunity=opportunities_pb2.Opportunity(name=name, title=title),
        update_mask=field_mask_pb2.FieldMask(paths=list(paths)), etag=etag))


def update_fails(as_user, user_id: str, name: str, **kw) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as exc:
        update(as_user, user_id, name, **kw)
    return exc.value


def test_the_owner_retitles_a_deal_and_the_etag_moves_on(as_user, scene):
    updated = update(as_user, scene.owner, scene.deal, "  智能仓储系统三期 ", etag="1")
    assert (updated.title, updated.etag) == ("智能仓储系统三期", "2")
    assert updated.update_time.ToDatetime() > updated.create_time.ToDatetime()
    again = get(as_user, scene.owner, scene.deal)
    assert (again.title, again.etag, again.stage) == ("智能仓储系统三期", "2", "discover")


def test_an_editing_team_member_and_managers_above_may_retitle(as_user, scene, org):
    org.add_member(scene.deal, scene.stranger, can_edit=True)
    assert update(as_user, scene.stranger, scene.deal, "由团队成员修改").etag == "2"
    assert update(as_user, scene.lead, scene.deal, "由组长修改").etag == "3"
    assert update(as_user, scene.top, scene.deal, "由总监修改", etag="3").title == "由总监修改"


@pytest.mark.parametrize("who", ["ops", "admin", "read_only_member"])
def test_who_sees_a_deal_but_may_not_edit_it_gets_permission_denied(as_user, scene, org, who):
    if who == "read_only_member":
        org.add_member(scene.deal, scene.stranger, can_edit=False)
    user_id = scene.stranger if who == "read_only_member" else getattr(scene, who)
    assert sees(as_user, user_id, scene.deal)
    exc = update_fails(as_user, user_id, scene.deal)
    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    assert details_of(exc)["reason"] == "NOT_AN_EDITOR"
    assert get(as_user, scene.owner, scene.deal).etag == "1"


@pytest.mark.parametrize("who", ["stranger", "sib", "colleague"])
def test_who_cannot_see_a_deal_gets_not_found_on_update(as_user, scene, who):
    exc = update_fails(as_user, getattr(scene, who), scene.deal)
    assert exc.code() == grpc.StatusCode.NOT_FOUND
    missing = update_fails(as_user, getattr(scene, who), f"opportunities/{uuid.uuid4()}")
    assert missing.code() == grpc.StatusCode.NOT_FOUND


def test_a_stale_etag_is_aborted_and_changes_nothing(as_user, scene):
    update(as_user, scene.owner, scene.deal, "第一次修改", etag="1")
    exc = update_fails(as_user, scene.owner, scene.deal, title="过时的修改", etag="1")
    assert exc.code() == grpc.StatusCode.ABORTED and details_of(exc)["reason"] == "ETAG_MISMATCH"
    assert get(as_user, scene.owner, scene.deal).title == "第一次修改"


@pytest.mark.parametrize(("kw", "field"), [
    ({"paths": ()}, "update_mask"),
    ({"paths": ("title", "owner")}, "update_mask"),
    ({"paths": ("stage",)}, "update_mask"),
    ({"title": "  "}, "opportunity.title"),
    ({"title": "长" * 201}, "opportunity.title"),
])
def test_a_bad_update_is_invalid_argument_naming_the_field(as_user, scene, kw, field):
    exc = update_fails(as_user, scene.owner, scene.deal, **kw)
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc)["fields"] == [field]


def test_a_bad_name_on_update_is_invalid_argument(as_user):
    exc = update_fails(as_user, str(uuid.uuid4()), "leads/1")
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc)["fields"] == ["opportunity.name"]
