"""Reading teams' event envelopes into projection rows and handover commands: no I/O."""

import json
from datetime import UTC, datetime

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from leads.adapters import event_encoder, protomap
from leads.domain import model, pool
from leads.entrypoints import inbound_events
from shangji.teams.v1 import events_pb2 as teams_events
from shangji.teams.v1 import teams_pb2
from shangji_kit import org_events
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument
from shangji_kit.testing import envelopes
from shangji_kit.visibility import OrgDepartment, OrgUser

USER, OTHER, ROOT, DEPT = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                           "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444")
T = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def env_of(message: Message) -> Envelope:
    return envelopes.parsed("teams", message, event_id="e1", time=T)


def user(**kw) -> teams_pb2.User:
    fields = {"name": f"users/{USER}", "id": USER, "display_name": "李娜", "email": "li.na@example.cn",
              "department": f"departments/{DEPT}", "active": True, "roles": ["sales_rep", "sales_ops"]}
    fields.update(kw)
    message = teams_pb2.User(**fields)
    message.update_time.FromDatetime(T)
    return message


def department(**kw) -> teams_pb2.Department:
    fields = {"name": f"departments/{DEPT}", "id": DEPT, "display_name": "华东销售部",
              "parent": f"departments/{ROOT}", "head": f"users/{USER}", "path": f"/{ROOT}/{DEPT}/"}
    fields.update(kw)
    message = teams_pb2.Department(**fields)
    message.update_time.FromDatetime(T)
    return message


@pytest.mark.parametrize("kind", [teams_events.UserCreated, teams_events.UserUpdated])
def test_a_user_event_is_the_users_whole_state(kind):
    assert org_events.user_from_event(env_of(kind(user=user()))) == OrgUser(
        user_id=USER, department_id=DEPT, roles=("sales_rep", "sales_ops"), active=True, update_time=T)


def test_a_deactivation_is_inactive_and_a_user_may_have_no_department():
    got = org_events.user_from_event(env_of(teams_events.UserDeactivated(user=user(department="", active=True))))
    assert (got.active, got.department_id) == (False, None)


def test_a_user_event_without_an_update_time_cannot_be_ordered_and_is_rejected():
    message = teams_events.UserCreated(user=user())
    message.user.ClearField("update_time")
    with pytest.raises(InvalidArgument) as exc:
        org_events.user_from_event(env_of(message))
    assert exc.value.violations[0].field == "user.update_time"


def test_a_department_event_keeps_parent_path_and_head():
    assert org_events.department_from_event(env_of(teams_events.DepartmentChanged(department=department()))) == \
        OrgDepartment(id=DEPT, parent_id=ROOT, path=f"/{ROOT}/{DEPT}/", head_id=USER, update_time=T)
    root = org_events.department_from_event(env_of(teams_events.DepartmentChanged(department=department(
        name=f"departments/{ROOT}", id=ROOT, parent="", head="", path=f"/{ROOT}/"))))
    assert (root.parent_id, root.head_id, root.path) == (None, None, f"/{ROOT}/")


@pytest.mark.parametrize(("fields", "field"), [
    ({"path": ""}, "department.path"),
    ({"path": f"/{ROOT}/"}, "department.path"),
    ({"head": "people/1"}, "department.head"),
    ({"name": "", "id": ""}, "department.name"),  # the id, else the name: neither is malformed
])
def test_a_malformed_department_is_rejected(fields, field):
    with pytest.raises(InvalidArgument) as exc:
        org_events.department_from_event(env_of(teams_events.DepartmentChanged(department=department(**fields))))
    assert exc.value.violations[0].field == field


def test_a_transfer_is_a_handover_from_one_user_to_another():
    message = teams_events.OwnershipTransferred(transfer_id="t-1", from_user=f"users/{USER}", to_user=f"users/{OTHER}",
                                                requested_by=f"users/{ROOT}")
    assert inbound_events.hand_over_from_event(env_of(message)) == model.HandOver(
        transfer_id="t-1", from_owner_id=USER, to_owner_id=OTHER, transfer_time=None)
    message.transfer_time.FromDatetime(T)
    assert inbound_events.hand_over_from_event(env_of(message)).transfer_time == T


def test_an_event_of_another_type_is_rejected():
    env = env_of(teams_events.UserCreated(user=user()))
    wrong = Envelope(id=env.id, source=env.source, type="shangji.teams.v1.DepartmentChanged", subject="",
                     time=env.time, data=env.data, correlation_id=None)
    with pytest.raises(InvalidArgument) as exc:
        org_events.user_from_event(wrong)
    assert exc.value.violations[0].field == "type"


def test_a_user_event_carries_the_reps_profile_for_assignment():
    message = teams_events.UserUpdated(user=user(territories=["华东", " "], expertise=["textiles"], capacity=20))
    assert inbound_events.rep_from_event(env_of(message)) == pool.RepProfile(
        user_id=USER, territories=("华东",), expertise=("textiles",), capacity=20, update_time=T)


def test_pool_events_and_unassigned_leads_map_to_protos():
    from shangji.leads.v1 import events_pb2

    lead = model.new_lead(id="l1", company="Acme", contact_name="Li", phone="", email="li@example.com", region="",
                          source="", owner_id=None, now=T)
    assert protomap.lead_to_proto(lead).owner == ""
    pool.claim(lead, USER, T)
    pool.add_follow_up(lead, pool.FollowUp("f1", "l1", "CALL", "hi", USER, T.replace(minute=45)))
    message = protomap.lead_to_proto(lead)
    assert message.first_response_time.ToTimedelta().total_seconds() == 15 * 60
    pool.return_to_pool(lead, "other", T)
    _, claimed, followed, returned = (event_encoder.encode(e) for e in lead.events)
    assert isinstance(claimed[0], events_pb2.LeadClaimed) and claimed[1] == "leads/l1"
    assert followed[0].follow_up.kind == followed[0].follow_up.Kind.CALL
    assert (returned[0].previous_owner, returned[0].reason) == (f"users/{USER}", "other")


def test_the_direct_json_of_a_captured_lead_equals_message_to_dict():
    from datetime import timedelta

    base = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    for i, (owner, micros) in enumerate([(None, 0), ("0b6f1b55-3f0e-4a8e-9a53-2f4c1f3f8d11", 123000),
                                         ("0b6f1b55-3f0e-4a8e-9a53-2f4c1f3f8d11", 123456)]):
        lead = model.new_lead(id=f"00000000-0000-0000-0000-00000000000{i}", company="杭州 茶厂", contact_name="王芳",
                              phone="13800138000" if i else "", email="a@b.cn" if i != 1 else "",
                              region="浙江" if i else "", source="", owner_id=owner, industry="tea" * i,
                              now=base + timedelta(microseconds=micros))
        if i == 2:
            lead.duplicate_of = "00000000-0000-0000-0000-000000000009"
        assert event_encoder.lead_json(lead) == json_format.MessageToDict(protomap.lead_to_proto(lead))


def test_the_direct_json_of_scored_assigned_leads_and_their_events_equals_message_to_dict():
    from leads.domain import scoring

    settings = scoring.ScoringSettings(rules=(scoring.ScoringRule("industry", ("tea",), 35),
                                              scoring.ScoringRule("title", ("经理",), 0)), mql_threshold=30)
    lead = model.new_lead(id="00000000-0000-0000-0000-000000000001", company="杭州 茶厂", contact_name="王芳",
                          phone="13800138000", email="", region="浙江", source="展会", owner_id=None,
                          industry="tea", now=T, contact_title="采购经理", company_size="50-199", notes="要样品",
                          campaign_id="00000000-0000-0000-0000-0000000000c1", flags=("budget",))
    lead.qualification = scoring.UNQUALIFIED
    scoring.rescore(lead, settings, T)
    choice = pool.Choice("0b6f1b55-3f0e-4a8e-9a53-2f4c1f3f8d11", (pool.TERRITORY, pool.ROUND_ROBIN))
    pool.auto_assign(lead, choice, "", T)
    assert event_encoder.lead_json(lead) == json_format.MessageToDict(protomap.lead_to_proto(lead))
    rows = event_encoder.outbox_rows(list(lead.events))
    assert [r[0].rsplit(".", 1)[1] for r in rows] == ["LeadCreated", "LeadQualificationChanged", "LeadAssigned"]
    for (_, subject, data), event in zip(rows, lead.events, strict=True):
        message, expected_subject = event_encoder.encode(event)
        assert (subject, json.loads(data)) == (expected_subject, json_format.MessageToDict(message))
