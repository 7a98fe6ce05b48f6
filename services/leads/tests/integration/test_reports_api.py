"""LeadReportsService: each rep's activity per company week or month, within what the caller may see, through the
in-process front. Times are UTC; the company's zone is Asia/Shanghai (+08:00)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import field_mask_pb2, json_format
from google.protobuf.timestamp_pb2 import Timestamp

from leads.adapters.orm import follow_ups, leads
from shangji.leads.v1 import leads_pb2, reports_pb2_grpc
from shangji.leads.v1 import reports_pb2 as pb
from shangji.opportunities.v1 import events_pb2 as opp_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit import envelope
from shangji_kit.rpc.client import Caller
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings

NOVEMBER = pb.LeadReportPeriod(start_date="2026-11-01", end_date="2026-11-30")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def world(org, shangji_env):
    """East (head H; reps A, B), West (rep C), sales_ops S; leads and follow-ups in and around November."""
    east, h = org.head()
    west = org.department()
    people = {"H": h, "A": org.user(east), "B": org.user(east), "C": org.user(west),
              "S": org.user(None, roles=("sales_ops",))}
    rows, notes = [], []

    def lead(owner: str, created: str, hold: str | None = None, response_minutes: int | None = None) -> str:
        lead_id = str(uuid.uuid4())
        rows.append({"id": lead_id, "company": f"公司 {lead_id[:6]}", "contact_name": "王", "owner_id": people[owner],
                     "version": 1, "create_time": at(created), "update_time": at(created),
                     "hold_time": at(hold) if hold else None,
                     "first_response_time": timedelta(minutes=response_minutes) if response_minutes else None})
        return lead_id

    def follow_up(lead_id: str, author: str, when: str) -> None:
        notes.append({"id": str(uuid.uuid4()), "lead_id": lead_id, "kind": "CALL", "author_id": people[author],
                      "create_time": at(when)})

    a1 = lead("A", "2026-11-02T02:00:00", "2026-11-02T02:00:00", 30)
    a2 = lead("A", "2026-10-31T17:00:00", "2026-10-31T17:00:00", 90)  # 1 Nov 01:00 in Shanghai
    lead("A", "2026-11-30T16:30:00")  # 1 December in Shanghai: not November's
    b1 = lead("B", "2026-11-10T02:00:00", "2026-11-10T02:00:00", 60)
    c1 = lead("C", "2026-11-11T02:00:00", "2026-11-11T02:00:00", 10)
    for lead_id, author, when in ((a1, "A", "2026-11-02T02:30:00"), (a1, "A", "2026-11-20T02:00:00"),
                                  (a2, "A", "2026-10-31T18:30:00"), (b1, "B", "2026-11-10T03:00:00"),
                                  (c1, "C", "2026-11-11T02:10:00")):
        follow_up(lead_id, author, when)
    engine = sa.create_engine(Settings.for_service("leads").database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(leads.insert(), rows)
        conn.execute(follow_ups.insert(), notes)
    engine.dispose()
    return people


@pytest.fixture
def report_as(channel, token_for, world):
    stub = reports_pb2_grpc.LeadReportsServiceStub(channel)
    return lambda letter: Caller(stub, token_for(world[letter]))


def rows(report: pb.RepActivityReport) -> dict:
    return {(r.owner, r.start_date): (r.new_leads, r.follow_ups, r.first_responses,
                                      r.average_first_response_seconds) for r in report.rows}


def test_a_head_sees_their_reps_activity_by_month_in_company_days(report_as, world):
    got = rows(report_as("H").GetRepActivityReport(pb.GetRepActivityReportRequest(period=NOVEMBER)))
    a, b = f"users/{world['A']}", f"users/{world['B']}"
    # A: a1 and a2 (1 November in Shanghai), not the lead of 1 December; three follow-ups; responses 30 and 90 min.
    assert got == {(a, "2026-11-01"): (2, 3, 2, "3600.0"), (b, "2026-11-01"): (1, 1, 1, "3600.0")}


def test_a_rep_sees_their_own_and_sales_ops_everyone_by_week(report_as, world):
    mine = rows(report_as("A").GetRepActivityReport(pb.GetRepActivityReportRequest(period=NOVEMBER)))
    assert set(owner for owner, _ in mine) == {f"users/{world['A']}"}
    weekly = rows(report_as("S").GetRepActivityReport(pb.GetRepActivityReportRequest(
        period=NOVEMBER, group_by=pb.LEAD_REPORT_GRANULARITY_WEEK)))
    a, c = f"users/{world['A']}", f"users/{world['C']}"
    assert weekly[(a, "2026-10-26")] == (1, 1, 1, "5400.0")  # Sunday 1 November (Shanghai)
    assert weekly[(a, "2026-11-02")] == (1, 1, 1, "1800.0")
    assert weekly[(a, "2026-11-16")] == (0, 1, 0, "")
    assert weekly[(c, "2026-11-09")] == (1, 1, 1, "600.0")
    west_only = rows(report_as("S").GetRepActivityReport(pb.GetRepActivityReportRequest(
        period=NOVEMBER, owner=c)))
    assert set(owner for owner, _ in west_only) == {c}


@pytest.mark.parametrize("request_, field", [
    (pb.GetRepActivityReportRequest(period=pb.LeadReportPeriod(start_date="2026-11-30", end_date="2026-11-01")),
     "period.end_date"),
    (pb.GetRepActivityReportRequest(period=NOVEMBER, group_by=7), "group_by"),
    (pb.GetRepActivityReportRequest(period=NOVEMBER, department="teams/1"), "department"),
])
def test_bad_input_is_invalid_argument_naming_the_field(report_as, request_, field):
    with pytest.raises(grpc.RpcError) as exc:
        report_as("S").GetRepActivityReport(request_)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in details_of(exc.value)["fields"]


# --- attribution --------------------------------------------------------------------------------------------

def won(worker, lead_name: str, amount: str) -> None:
    """OpportunityWon for a deal of ``lead_name``, handed to the worker's handler as opportunities publishes it."""
    now = datetime.now(UTC)
    ts = Timestamp()
    ts.FromDatetime(now)
    opportunity = f"opportunities/{uuid.uuid4()}"
    message = opp_events.OpportunityWon(opportunity=opportunities_pb2.Opportunity(
        name=opportunity, lead=lead_name, amount=amount, currency="CNY", title="deal"), change_time=ts)
    name = message.DESCRIPTOR.full_name
    worker.on_opportunity_won(envelope.build(
        service="opportunities", id=str(uuid.uuid4()), type=name, subject=opportunity, time=now,
        dataschema=f"proto:{name}", data=json_format.MessageToDict(message), correlation_id=None))


def test_won_amounts_are_spread_over_every_campaign_touch_by_the_chosen_model(as_user, ops, worker, channel,
                                                                                token_for):
    campaigns = [ops[1].CreateCampaign(leads_pb2.CreateCampaignRequest(campaign=leads_pb2.Campaign(
        display_name=f"活动 {i}", channel=f"展会-{uuid.uuid4().hex[:6]}"))).name for i in range(3)]
    rep_id, rep = as_user()

    def lead(campaign: str = "") -> leads_pb2.Lead:
        return rep.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
            company=f"客户{uuid.uuid4().hex[:6]}", contact_name="赵", email=f"{uuid.uuid4().hex[:8]}@x.cn",
            campaign=campaign)))

    three = lead(campaigns[0])  # touches: 0, then 1, then 2 (UpdateLead)
    for campaign in campaigns[1:]:
        rep.UpdateLead(leads_pb2.UpdateLeadRequest(lead=leads_pb2.Lead(name=three.name, campaign=campaign),
                                                   update_mask=field_mask_pb2.FieldMask(paths=["campaign"])))
    one, none = lead(campaigns[1]), lead()
    for x in (three, one, none):
        rep.ConvertLead(leads_pb2.ConvertLeadRequest(name=x.name))
    won(worker, three.name, "1000.00")
    won(worker, one.name, "500.00")
    won(worker, none.name, "300.00")
    today = datetime.now(UTC).date()
    period = pb.LeadReportPeriod(start_date=(today - timedelta(days=1)).isoformat(),
                                 end_date=(today + timedelta(days=1)).isoformat())
    stub = reports_pb2_grpc.LeadReportsServiceStub(channel)

    def report(user_id: str, model) -> tuple:
        r = Caller(stub, token_for(user_id)).GetAttributionReport(pb.GetAttributionReportRequest(
            period=period, model=model))
        return ({x.campaign: (x.deals, x.attributed_amount) for x in r.rows}, r.unattributed_amount, r.won_amount)

    c0, c1, c2 = campaigns
    assert report(rep_id, pb.FIRST_TOUCH) == ({c0: (1, "1000.00"), c1: (1, "500.00")}, "300.00", "1800.00")
    assert report(rep_id, pb.LAST_TOUCH) == ({c2: (1, "1000.00"), c1: (1, "500.00")}, "300.00", "1800.00")
    everyone = report(ops[0], pb.U_SHAPED)[0]  # sales_ops: other tests' campaigns may be there too
    assert {c: everyone[c] for c in campaigns} == {c0: (1, "400.00"), c1: (2, "700.00"), c2: (1, "400.00")}
    assert report(str(uuid.uuid4()), pb.U_SHAPED) == ({}, "0.00", "0.00")  # someone who sees none of them
    with pytest.raises(grpc.RpcError) as exc:
        Caller(stub, token_for(rep_id)).GetAttributionReport(pb.GetAttributionReportRequest(period=period))
    assert details_of(exc.value)["fields"] == ["model"]
