"""Reading events (LeadConverted, teams' organisation) and requests into commands: no I/O."""

from datetime import UTC, datetime

import pytest
from google.protobuf import field_mask_pb2

from opportunities.adapters import event_encoder
from opportunities.domain import model
from opportunities.entrypoints import from_event, from_request
from shangji.leads.v1 import events_pb2, leads_pb2
from shangji.opportunities.v1 import opportunities_pb2
from shangji.teams.v1 import events_pb2 as teams_events
from shangji.teams.v1 import teams_pb2
from shangji_kit import visibility
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument
from shangji_kit.testing import envelopes

OWNER, CONVERTER, LEAD = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                          "33333333-3333-4333-8333-333333333333")


def env_of(event: events_pb2.LeadConverted) -> Envelope:
    return envelopes.parsed("leads", event, subject=f"leads/{LEAD}", event_id="e1",
                            time=datetime(2026, 11, 25, tzinfo=UTC))


def converted(**kw) -> events_pb2.LeadConverted:
    lead = leads_pb2.Lead(name=f"leads/{LEAD}", id=LEAD, company="华东精密", contact_name="王经理",
                          phone="+8613800138000", email="wang@example.com", region="上海", source="展会",
                          owner=f"users/{OWNER}")
    fields = {"lead": lead, "converted_by": f"users/{CONVERTER}", "opportunity_title": "智能仓储系统"}
    fields.update(kw)
    return events_pb2.LeadConverted(**fields)


def test_the_command_carries_owner_registrant_lead_and_contact():
    cmd = from_event.registration_from_event(env_of(converted()))
    assert (cmd.owner_id, cmd.registrant_id, cmd.lead_id) == (OWNER, CONVERTER, LEAD)
    assert (cmd.title, cmd.customer_company, cmd.contact_name) == ("智能仓储系统", "华东精密", "王经理")
    assert (cmd.contact_phone, cmd.contact_email, cmd.region, cmd.source) == \
        ("+8613800138000", "wang@example.com", "上海", "展会")


def test_without_a_title_the_company_names_the_deal():
    assert from_event.registration_from_event(env_of(converted(opportunity_title=" "))).title == "华东精密"


def test_an_owner_that_is_not_a_user_name_is_rejected():
    event = converted()
    event.lead.owner = "people/1"
    with pytest.raises(InvalidArgument) as exc:
        from_event.registration_from_event(env_of(event))
    assert exc.value.violations[0].field == "lead.owner"


def test_a_registered_deal_maps_to_its_event_with_resource_names():
    deal = model.Opportunity(
        id="o1", title="T", customer_company="C", contact_name="", contact_phone="", contact_email="", region="",
        source="", owner_id=OWNER, registrant_id=CONVERTER, pipeline_id="p1", stage_key="discover",
        stage_display_name="发现机会", lead_id=LEAD, create_time=datetime(2026, 11, 25, tzinfo=UTC),
        update_time=datetime(2026, 11, 25, tzinfo=UTC))
    message, subject = event_encoder.encode(model.OpportunityRegistered(deal))
    assert subject == "opportunities/o1"
    o = message.opportunity
    assert (o.owner, o.registrant, o.lead, o.pipeline) == (f"users/{OWNER}", f"users/{CONVERTER}", f"leads/{LEAD}",
                                                           "pipelines/p1")


# --- teams' events and UpdateOpportunity ---------------------------------------------------------------

USER, DEPT, ROOT, DEAL = ("44444444-4444-4444-8444-444444444444", "55555555-5555-4555-8555-555555555555",
                          "66666666-6666-4666-8666-666666666666", "77777777-7777-4777-8777-777777777777")
T = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


def teams_env(message) -> Envelope:
    return envelopes.parsed("teams", message, event_id="e1", time=T)


def user(**kw) -> teams_pb2.User:
    fields = {"name": f"users/{USER}", "id": USER, "display_name": "李娜", "email": "li@example.com",
              "department": f"departments/{DEPT}", "active": True, "roles": ["sales_rep", "sales_ops"]}
    fields.update(kw)
    u = teams_pb2.User(**fields)
    u.update_time.FromDatetime(T)
    return u


def department(**kw) -> teams_pb2.Department:
    fields = {"name": f"departments/{DEPT}", "id": DEPT, "display_name": "华东区", "parent": f"departments/{ROOT}",
              "head": f"users/{USER}", "path": f"/{ROOT}/{DEPT}/"}
    fields.update(kw)
    d = teams_pb2.Department(**fields)
    d.update_time.FromDatetime(T)
    return d


def test_a_user_event_projects_plain_ids_roles_and_its_time():
    projected = from_event.user_from_event(teams_env(teams_events.UserCreated(user=user())))
    assert projected == visibility.OrgUser(user_id=USER, department_id=DEPT, roles=("sales_rep", "sales_ops"),
                                           active=True, update_time=T)


def test_a_user_without_department_and_ids_in_capitals_are_projected_canonically():
    projected = from_event.user_from_event(teams_env(teams_events.UserUpdated(user=user(id=USER.upper(),
                                                                                       department=""))))
    assert (projected.user_id, projected.department_id) == (USER, None)


def test_a_deactivation_is_inactive_whatever_its_flag_says():
    projected = from_event.user_from_event(teams_env(teams_events.UserDeactivated(user=user(active=True))))
    assert projected.active is False


@pytest.mark.parametrize(("change", "field"), [
    ({"department": "teams/1"}, "user.department"),
    ({"id": "", "name": ""}, "user.name"),
    ({"id": "nope"}, "user.id"),
])
def test_a_malformed_user_event_names_the_field(change, field):
    with pytest.raises(InvalidArgument) as exc:
        from_event.user_from_event(teams_env(teams_events.UserUpdated(user=user(**change))))
    assert exc.value.violations[0].field == field


def test_a_user_event_needs_its_update_time():
    u = user()
    u.ClearField("update_time")
    with pytest.raises(InvalidArgument) as exc:
        from_event.user_from_event(teams_env(teams_events.UserCreated(user=u)))
    assert exc.value.violations[0].field == "user.update_time"


def test_a_department_event_projects_parent_head_and_path():
    projected = from_event.department_from_event(teams_env(teams_events.DepartmentChanged(department=department())))
    assert projected == visibility.OrgDepartment(id=DEPT, parent_id=ROOT, path=f"/{ROOT}/{DEPT}/", head_id=USER,
                                                 update_time=T)
    root = from_event.department_from_event(teams_env(teams_events.DepartmentChanged(
        department=department(id=ROOT, name=f"departments/{ROOT}", parent="", head="", path=f"/{ROOT}/"))))
    assert (root.parent_id, root.head_id, root.path) == (None, None, f"/{ROOT}/")


@pytest.mark.parametrize("path", ["", f"/{ROOT}/{DEPT}", f"{ROOT}/{DEPT}/", f"/{DEPT}/{ROOT}/"])
def test_a_department_path_must_run_from_the_root_to_the_department(path):
    with pytest.raises(InvalidArgument) as exc:
        from_event.department_from_event(teams_env(teams_events.DepartmentChanged(department=department(path=path))))
    assert exc.value.violations[0].field == "department.path"


def test_team_events_carry_the_deal_the_person_and_the_edit_right():
    member = teams_pb2.OpportunityTeamMember(user=f"users/{USER}", role="presales", can_edit=True)
    member.add_time.FromDatetime(T)
    added = from_event.team_member_from_event(teams_env(teams_events.OpportunityTeamMemberAdded(
        opportunity=f"opportunities/{DEAL}", member=member)))
    assert added == model.TeamMember(opportunity_id=DEAL, user_id=USER, role="presales", can_edit=True, add_time=T)
    removed = from_event.team_member_removal_from_event(teams_env(teams_events.OpportunityTeamMemberRemoved(
        opportunity=f"opportunities/{DEAL}", user=f"users/{USER}")))
    assert (removed.opportunity_id, removed.user_id) == (DEAL, USER)


def test_a_member_without_add_time_is_dated_by_the_envelope():
    member = teams_pb2.OpportunityTeamMember(user=f"users/{USER}", role="presales")
    added = from_event.team_member_from_event(teams_env(teams_events.OpportunityTeamMemberAdded(
        opportunity=f"opportunities/{DEAL}", member=member)))
    assert added.add_time == T and added.can_edit is False


def test_a_transfer_names_both_users_and_the_transfer():
    event = teams_events.OwnershipTransferred(transfer_id="t-1", from_user=f"users/{USER}", to_user=f"users/{OWNER}")
    event.transfer_time.FromDatetime(T)
    cmd = from_event.transfer_from_event(teams_env(event))
    assert (cmd.transfer_id, cmd.from_user_id, cmd.to_user_id, cmd.transfer_time) == ("t-1", USER, OWNER, T)
    with pytest.raises(InvalidArgument) as exc:
        from_event.transfer_from_event(teams_env(teams_events.OwnershipTransferred(
            transfer_id="t-1", from_user=USER, to_user=f"users/{OWNER}")))
    assert exc.value.violations[0].field == "from_user"


def test_an_update_request_becomes_the_command_with_mask_and_etag():
    request = opportunities_pb2.UpdateOpportunityRequest(
        opportunity=opportunities_pb2.Opportunity(name=f"opportunities/{DEAL}", title="新标题"),
        update_mask=field_mask_pb2.FieldMask(paths=["title"]), etag="3")
    cmd = from_request.update_from_request(request)
    assert (cmd.opportunity_id, cmd.title, cmd.update_mask, cmd.etag) == (DEAL, "新标题", ("title",), "3")
    with pytest.raises(InvalidArgument) as exc:
        from_request.update_from_request(opportunities_pb2.UpdateOpportunityRequest())
    assert exc.value.violations[0].field == "opportunity.name"
