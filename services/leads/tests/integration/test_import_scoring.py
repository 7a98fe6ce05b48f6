"""Imported rows are scored like CreateLead and, into the pool with auto_assign, handed out by the
assignment rules; a campaign given in the header is checked and fills the rows' source (fixtures in
conftest.py)."""

import uuid

import grpc
import pytest

from shangji.leads.v1 import leads_pb2
from shangji_kit.rpc.status import details_of

COLUMNS = ["公司名称", "联系人", "手机", "行业", "职位", "规模", "备注"]


def body(n: int, industry: str = "能源") -> list[tuple[int, list[str]]]:
    tag = uuid.uuid4().hex[:8]
    return [(i + 2, [f"导入企业{tag}{i}", f"联系人{i}", f"137{uuid.uuid4().int % 10**8:08d}", industry, "采购总监",
                     "200-999", "展台留资"]) for i in range(n)]


def stream(header: leads_pb2.ImportHeader, rows: list[tuple[int, list[str]]]):
    yield leads_pb2.ImportLeadsRequest(header=header)
    yield leads_pb2.ImportLeadsRequest(rows=leads_pb2.ImportRows(rows=[
        leads_pb2.ImportRow(row_number=n, values=values) for n, values in rows]))


def imported(query, tag_row: list[str]) -> list:
    return query("SELECT owner_id::text, score, qualification, source, contact_title, company_size, notes, campaign_id "
                 "FROM leads WHERE company = :c", c=tag_row[0])


def test_imported_rows_are_scored_assigned_by_the_rules_and_tagged_with_the_campaign(as_user, org, ops, lead_settings,
                                                                                     query):
    lead_settings.set(scoring_rules=[leads_pb2.ScoringRule(field="industry", values=["能源"], points=30),
                                     leads_pb2.ScoringRule(field="title", values=["总监"], points=10)],
                      mql_threshold=35, sql_threshold=80)
    department = org.department()
    head_id = org.user(department, roles=("sales_manager",), capacity=1)
    org.change_department(department, head=head_id)
    _, head = as_user(head_id)
    head.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(  # the head is full
        company=f"满{uuid.uuid4().hex[:6]}", contact_name="丁", email=f"{uuid.uuid4().hex[:8]}@example.cn")))
    reps = sorted(org.user(department, roles=("sales_rep",), capacity=2) for _ in range(2))
    campaign = ops[1].CreateCampaign(leads_pb2.CreateCampaignRequest(campaign=leads_pb2.Campaign(
        display_name="能源展", channel=f"能源展-{uuid.uuid4().hex[:6]}", cost="800")))
    rows = body(5)
    report = head.ImportLeads(stream(leads_pb2.ImportHeader(columns=COLUMNS, to_pool=True, auto_assign=True,
                                                            campaign=campaign.name), rows))
    assert (report.accepted, report.assigned, report.committed) == (5, 4, True)
    results = [imported(query, values)[0] for _, values in rows]
    assert {r[1:7] for r in results} == {(40, "MQL", campaign.channel, "采购总监", "200-999", "展台留资")}
    assert all(str(r[7]) == campaign.id for r in results)
    owners = [r[0] for r in results]
    # Round robin between the two reps with room, two each (their capacity), the fifth stays in the pool.
    assert owners[:4] == [reps[0], reps[1], reps[0], reps[1]] and owners[4] is None
    # Each lead is born held and qualified: its LeadCreated says so, and no other event per lead is written.
    created = query("SELECT type, data FROM outbox WHERE data->'lead'->>'company' = ANY(:c) ORDER BY position",
                    c=[v[0] for _, v in rows])
    assert [t for t, _ in created] == ["shangji.leads.v1.LeadCreated"] * 5
    assert [(d["lead"].get("owner"), d["lead"]["qualification"], d["lead"]["score"]) for _, d in created] == [
        *[(f"users/{r}", "MQL", 40) for r in (reps[0], reps[1], reps[0], reps[1])], (None, "MQL", 40)]
    [summary] = query("SELECT data FROM outbox WHERE type = 'shangji.leads.v1.LeadsImported' AND subject = :s",
                      s=f"imports/{report.content_sha256}")
    assert (summary[0]["accepted"], summary[0]["assigned"]) == (5, 4)


def test_auto_assign_needs_the_pool_a_right_and_a_real_campaign(as_user, query):
    _, rep = as_user()
    before = query("SELECT count(*) FROM leads")[0][0]
    for header, code, field in (
            (leads_pb2.ImportHeader(columns=COLUMNS, auto_assign=True), grpc.StatusCode.INVALID_ARGUMENT,
             "auto_assign"),
            (leads_pb2.ImportHeader(columns=COLUMNS, to_pool=True, campaign=f"campaigns/{uuid.uuid4()}"),
             grpc.StatusCode.INVALID_ARGUMENT, "campaign"),
            (leads_pb2.ImportHeader(columns=COLUMNS, to_pool=True, auto_assign=True), grpc.StatusCode.PERMISSION_DENIED,
             None)):
        with pytest.raises(grpc.RpcError) as exc:
            rep.ImportLeads(stream(header, body(2)))
        assert exc.value.code() == code
        if field:
            assert details_of(exc.value)["fields"] == [field]
    assert query("SELECT count(*) FROM leads")[0][0] == before
