"""Scoring and qualification through the front: attribute rules, behaviours, follow-ups, MQL/SQL both ways
with an event each, the settings API, away reps (fixtures in conftest.py)."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from shangji.leads.v1 import leads_pb2
from shangji_kit.rpc.status import details_of

QUALIFICATION = "shangji.leads.v1.LeadQualificationChanged"
Q = leads_pb2.Lead.Qualification


def transitions(query, lead: str) -> list[tuple[str, str, int]]:
    rows = query("SELECT data FROM outbox WHERE type = :t AND subject = :s ORDER BY position", t=QUALIFICATION, s=lead)
    return [(r[0].get("fromQualification"), r[0].get("toQualification"), r[0].get("score", 0)) for r in rows]


def written(query) -> tuple:
    return tuple(query(f"SELECT count(*) FROM {t}")[0][0] for t in ("leads", "lead_behaviours", "outbox"))


def capture(leads, **kw) -> leads_pb2.Lead:
    fields = {"company": f"瑞康医疗{uuid.uuid4().hex[:6]}", "contact_name": "林医生", "email": "lin@example.cn",
              "region": "华东", "source": "官网", "industry": "医疗", "contact_title": "信息科 主任",
              "company_size": "1000+"}
    fields.update(kw)
    return leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(**fields)))


def behaviour(leads, lead: str, kind: str, **kw) -> leads_pb2.Lead:
    return leads.RecordLeadBehaviour(leads_pb2.RecordLeadBehaviourRequest(name=lead, type=kind, **kw))


def update(leads, lead: leads_pb2.Lead, **fields) -> leads_pb2.Lead:
    return leads.UpdateLead(leads_pb2.UpdateLeadRequest(lead=leads_pb2.Lead(name=lead.name, **fields),
                                                        update_mask=field_mask_pb2.FieldMask(paths=list(fields))))


RULES = [leads_pb2.ScoringRule(field="industry", values=["医疗", "教育"], points=20),
         leads_pb2.ScoringRule(field="title", values=["主任", "总监"], points=10),
         leads_pb2.ScoringRule(field="company_size", values=["1000+"], points=5),
         leads_pb2.ScoringRule(field="region", values=["华东"], points=5)]


@pytest.fixture
def scored(lead_settings):
    lead_settings.set(scoring_rules=RULES, behaviour_points={"visit": 10, "reply": 15, "webinar": 8, "follow_up": 4},
                      mql_threshold=40, sql_threshold=60, sql_requires=["phone", "flag:budget"])
    return lead_settings


def test_attribute_rules_score_a_lead_at_capture_and_the_score_is_explained(as_user, scored, query):
    _, leads = as_user()
    lead = capture(leads)
    assert lead.score == 40 and lead.qualification == Q.MQL
    assert [(p.kind, p.key, p.value, p.points) for p in lead.score_parts] == [
        ("attribute", "industry", "医疗", 20), ("attribute", "title", "信息科 主任", 10),
        ("attribute", "company_size", "1000+", 5), ("attribute", "region", "华东", 5)]
    score = leads.GetLeadScore(leads_pb2.GetLeadScoreRequest(name=lead.name))
    assert (score.score, score.qualification) == (40, Q.MQL)
    assert list(score.missing_for_next) == ["score 40 < 60", "phone", "flag:budget"]
    # Born MQL: its LeadCreated says so; no transition to announce.
    assert transitions(query, lead.name) == []
    [created] = query("SELECT data FROM outbox WHERE type = 'shangji.leads.v1.LeadCreated' AND subject = :s",
                      s=lead.name)
    assert (created[0]["lead"]["qualification"], created[0]["lead"]["score"]) == ("MQL", 40)
    plain = capture(leads, industry="零售", contact_title="店员", region="华北", company_size="1-49")
    assert (plain.score, plain.qualification, list(plain.score_parts)) == (0, Q.UNQUALIFIED, [])
    assert transitions(query, plain.name) == []


def test_behaviours_and_follow_ups_lift_a_lead_to_sql_and_losing_a_requirement_drops_it(as_user, scored, query):
    _, leads = as_user()
    lead = capture(leads, industry="零售", phone="13812345678", flags=["budget"])
    assert (lead.score, lead.qualification) == (20, Q.UNQUALIFIED)
    lead = behaviour(leads, lead.name, "reply")
    assert (lead.score, lead.qualification) == (35, Q.UNQUALIFIED)
    lead = behaviour(leads, lead.name, "visit")
    assert (lead.score, lead.qualification) == (45, Q.MQL)
    leads.AddFollowUp(leads_pb2.AddFollowUpRequest(name=lead.name, kind=leads_pb2.FollowUp.Kind.CALL, note="聊预算"))
    lead = behaviour(leads, lead.name, "reply")
    assert (lead.score, lead.qualification) == (64, Q.SQL)
    assert [(p.key, p.value, p.points) for p in lead.score_parts if p.kind == "behaviour"] == [
        ("follow_up", "1", 4), ("reply", "2", 30), ("visit", "1", 10)]
    # The budget is withdrawn: SQL needs the flag, so the lead falls back to MQL; then it returns.
    lead = update(leads, lead, flags=[])
    assert (lead.score, lead.qualification) == (64, Q.MQL)
    lead = update(leads, lead, flags=["Budget", "timeline"])
    assert lead.qualification == Q.SQL and list(lead.flags) == ["budget", "timeline"]
    # A different industry takes the attribute points away: below MQL at once.
    lead = update(leads, lead, industry="餐饮", contact_title="", company_size="")
    assert (lead.score, lead.qualification) == (49, Q.MQL)  # region 5 + behaviours 44
    lead = update(leads, lead, source="展会", contact_title="销售")
    assert lead.score == 49 and leads.GetLeadScore(leads_pb2.GetLeadScoreRequest(name=lead.name)).missing_for_next \
        == ["score 49 < 60"]
    assert transitions(query, lead.name) == [("UNQUALIFIED", "MQL", 45), ("MQL", "SQL", 64), ("SQL", "MQL", 64),
                                             ("MQL", "SQL", 64), ("SQL", "MQL", 49)]
    assert leads.GetLead(leads_pb2.GetLeadRequest(name=lead.name)) == lead


def test_a_behaviour_retried_with_its_request_id_counts_once_and_bad_ones_write_nothing(as_user, scored, query):
    _, leads = as_user()
    lead = capture(leads, industry="零售", contact_title="", region="", company_size="")
    request_id = str(uuid.uuid4())
    first = behaviour(leads, lead.name, "webinar", request_id=request_id)
    assert first.score == 8
    assert behaviour(leads, lead.name, "webinar", request_id=request_id) == first
    before = written(query)
    future = Timestamp()
    future.FromDatetime(datetime.now(UTC) + timedelta(days=1))
    for kwargs, code, field in (({"type": "dance"}, grpc.StatusCode.INVALID_ARGUMENT, "type"),
                                ({"type": ""}, grpc.StatusCode.INVALID_ARGUMENT, "type"),
                                ({"type": "follow_up"}, grpc.StatusCode.INVALID_ARGUMENT, "type"),
                                ({"type": "visit", "occur_time": future}, grpc.StatusCode.INVALID_ARGUMENT,
                                 "occur_time")):
        with pytest.raises(grpc.RpcError) as exc:
            leads.RecordLeadBehaviour(leads_pb2.RecordLeadBehaviourRequest(name=lead.name, **kwargs))
        assert exc.value.code() == code and details_of(exc.value)["fields"] == [field]
    _, stranger = as_user()
    with pytest.raises(grpc.RpcError) as exc:
        behaviour(stranger, lead.name, "visit")
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    converted = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name))
    before = written(query)
    with pytest.raises(grpc.RpcError) as exc:
        behaviour(leads, converted.name, "visit")
    assert details_of(exc.value)["reason"] == "LEAD_ALREADY_CONVERTED"
    assert written(query) == before


def test_update_lead_checks_its_mask_campaign_and_etag(as_user, scored, query):
    _, leads = as_user()
    lead = capture(leads)
    before = written(query)
    for request, code, fields in (
            (leads_pb2.UpdateLeadRequest(lead=leads_pb2.Lead(name=lead.name, company="x"),
                                         update_mask=field_mask_pb2.FieldMask(paths=["company"])),
             grpc.StatusCode.INVALID_ARGUMENT, ["update_mask"]),
            (leads_pb2.UpdateLeadRequest(lead=leads_pb2.Lead(name=lead.name, campaign=f"campaigns/{uuid.uuid4()}"),
                                         update_mask=field_mask_pb2.FieldMask(paths=["campaign"])),
             grpc.StatusCode.INVALID_ARGUMENT, ["lead.campaign"]),
            (leads_pb2.UpdateLeadRequest(lead=leads_pb2.Lead(name=lead.name, flags=["a:b"], company_size="x" * 51),
                                         update_mask=field_mask_pb2.FieldMask(paths=["flags", "company_size"])),
             grpc.StatusCode.INVALID_ARGUMENT, ["lead.company_size", "lead.flags[0]"]),
            (leads_pb2.UpdateLeadRequest(lead=leads_pb2.Lead(name=lead.name, industry="教育"), etag="99",
                                         update_mask=field_mask_pb2.FieldMask(paths=["industry"])),
             grpc.StatusCode.ABORTED, None)):
        with pytest.raises(grpc.RpcError) as exc:
            leads.UpdateLead(request)
        assert exc.value.code() == code
        if fields:
            assert details_of(exc.value)["fields"] == fields
    assert written(query) == before


def test_settings_are_read_by_anyone_changed_by_sales_ops_and_checked_whole(as_user, lead_settings, query):
    _, rep = as_user()
    current = rep.GetLeadSettings(leads_pb2.GetLeadSettingsRequest())
    assert current.claim_cap == 50 and current.dedupe_mode == "flag" and current.behaviour_points["visit"] == 10
    assert [g.grade for g in current.customer_grades] == ["A", "B", "C"]
    with pytest.raises(grpc.RpcError) as exc:
        rep.UpdateLeadSettings(leads_pb2.UpdateLeadSettingsRequest(
            settings=leads_pb2.LeadSettings(claim_cap=5), update_mask=field_mask_pb2.FieldMask(paths=["claim_cap"])))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    changed = lead_settings.set(claim_cap=5, return_reasons=["无需求", "联系不上"], recycle_after_days_unconverted=0,
                                dedupe_mode="merge")
    assert (changed.claim_cap, list(changed.return_reasons), changed.recycle_after_days_unconverted,
            changed.dedupe_mode, changed.recycle_after_days_without_follow_up) == (5, ["无需求", "联系不上"], 0,
                                                                                   "merge", 7)
    assert int(changed.etag) == int(current.etag) + 1
    with pytest.raises(grpc.RpcError) as exc:
        lead_settings.set(claim_cap=-1, return_reasons=[], dedupe_mode="drop", mql_threshold=50, sql_threshold=40,
                          sql_requires=["budget"], convert_requires="WON",
                          scoring_rules=[leads_pb2.ScoringRule(field="colour", values=["red"], points=1)])
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc.value)["fields"] == [
        "settings.claim_cap", "settings.return_reasons", "settings.dedupe_mode", "settings.scoring_rules[0].field",
        "settings.sql_threshold", "settings.sql_requires[0]", "settings.convert_requires"]
    with pytest.raises(grpc.RpcError) as exc:
        lead_settings.caller.UpdateLeadSettings(leads_pb2.UpdateLeadSettingsRequest(
            settings=leads_pb2.LeadSettings(claim_cap=9), update_mask=field_mask_pb2.FieldMask(paths=["claim_cap"]),
            etag=current.etag))
    assert exc.value.code() == grpc.StatusCode.ABORTED
    assert rep.GetLeadSettings(leads_pb2.GetLeadSettingsRequest()) == changed
    # The pool follows at once: a return reason outside the new list is refused.
    held = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"退回测试{uuid.uuid4().hex[:6]}", contact_name="甲", email=f"{uuid.uuid4().hex[:8]}@example.cn")))
    with pytest.raises(grpc.RpcError) as exc:
        rep.ReturnLead(leads_pb2.ReturnLeadRequest(name=held.name, reason="no_need"))
    assert details_of(exc.value)["fields"] == ["reason"]
    assert rep.ReturnLead(leads_pb2.ReturnLeadRequest(name=held.name, reason="无需求")).owner == ""


def test_an_away_rep_is_skipped_by_assignment_until_back(as_user, org, ops):
    department = org.department()
    head_id = org.user(department, roles=("sales_manager",), capacity=1)
    org.change_department(department, head=head_id)
    _, head = as_user(head_id)
    head.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(  # the head is full
        company=f"满{uuid.uuid4().hex[:6]}", contact_name="丁", email=f"{uuid.uuid4().hex[:8]}@example.cn")))
    first = org.user(department, roles=("sales_rep",))
    second = org.user(department, roles=("sales_rep",))
    _, first_caller = as_user(first)
    assert first_caller.SetRepAway(leads_pb2.SetRepAwayRequest(user=f"users/{first}", away=True)).away
    _, stranger = as_user(org.user(roles=("sales_rep",)))
    with pytest.raises(grpc.RpcError) as exc:
        stranger.SetRepAway(leads_pb2.SetRepAwayRequest(user=f"users/{second}", away=True))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as exc:
        head.SetRepAway(leads_pb2.SetRepAwayRequest(user=f"users/{uuid.uuid4()}", away=True))
    assert details_of(exc.value)["fields"] == ["user"]
    owners = []
    for _ in range(2):
        lead = ops[1].CreateLead(leads_pb2.CreateLeadRequest(to_pool=True, lead=leads_pb2.Lead(
            company=f"池{uuid.uuid4().hex[:6]}", contact_name="乙", email=f"{uuid.uuid4().hex[:8]}@example.cn")))
        owners.append(head.AutoAssignLead(leads_pb2.AutoAssignLeadRequest(name=lead.name)).owner)
    assert owners == [f"users/{second}", f"users/{second}"]
    head.SetRepAway(leads_pb2.SetRepAwayRequest(user=f"users/{first}", away=False))
    lead = ops[1].CreateLead(leads_pb2.CreateLeadRequest(to_pool=True, lead=leads_pb2.Lead(
        company=f"池{uuid.uuid4().hex[:6]}", contact_name="丙", email=f"{uuid.uuid4().hex[:8]}@example.cn")))
    assert head.AutoAssignLead(leads_pb2.AutoAssignLeadRequest(name=lead.name)).owner == f"users/{first}"


def test_a_change_of_the_rules_rescores_open_leads_in_the_background_with_events(as_user, scored, query):
    from leads import bootstrap
    from leads.service_layer import qualification
    from shangji_kit.settings import Settings

    _, leads = as_user()
    lead = capture(leads, industry="教育", contact_title="老师", region="西北", company_size="")
    assert (lead.score, lead.qualification) == (20, Q.UNQUALIFIED)
    closed = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=capture(leads, industry="教育").name))
    scored.set(scoring_rules=[leads_pb2.ScoringRule(field="industry", values=["教育"], points=45)])
    # Nothing moved yet: the worker's timer rescores; here it is called as the timer would.
    assert leads.GetLead(leads_pb2.GetLeadRequest(name=lead.name)).score == 20
    uow = bootstrap.uow_factory(Settings.for_service("leads"))
    assert qualification.rescore_stale(datetime.now(UTC), uow()) >= 1
    after = leads.GetLead(leads_pb2.GetLeadRequest(name=lead.name))
    assert (after.score, after.qualification, int(after.etag)) == (45, Q.MQL, int(lead.etag) + 1)
    assert transitions(query, lead.name) == [("UNQUALIFIED", "MQL", 45)]
    assert leads.GetLead(leads_pb2.GetLeadRequest(name=closed.name)) == closed  # converted leads keep theirs
    assert qualification.rescore_stale(datetime.now(UTC), uow()) == 0  # nothing stale any more
    # A change that scores the same (the conversion gate) makes nothing stale.
    version = query("SELECT scoring_version FROM pool_settings")[0][0]
    scored.set(convert_requires="MQL")
    assert query("SELECT scoring_version FROM pool_settings")[0][0] == version
