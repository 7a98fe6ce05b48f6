"""Campaigns and the source value report; won amounts from opportunities' events published to the broker
and consumed by the leads worker running as a subprocess (fixtures in conftest.py)."""

import os
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import field_mask_pb2

from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import events_pb2 as opp_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit import timestamps
from shangji_kit.publisher import EventPublisher
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing import envelopes
from shangji_kit.testing.processes import ServiceProcess, worker_env
from shangji_kit.testing.wait import eventually


def written(query) -> tuple:
    return tuple(query(f"SELECT count(*) FROM {t}")[0][0] for t in ("campaigns", "leads", "outbox"))


def new_campaign(caller, **kw) -> leads_pb2.Campaign:
    fields = {"display_name": "2026 春季展会", "channel": f"展会-{uuid.uuid4().hex[:6]}", "cost": "1000",
              "currency": "cny", "start_date": "2026-03-01", "end_date": "2026-03-03"}
    fields.update(kw)
    return caller.CreateCampaign(leads_pb2.CreateCampaignRequest(campaign=leads_pb2.Campaign(**fields)))


def capture(leads, **kw) -> leads_pb2.Lead:
    fields = {"company": f"源头客户{uuid.uuid4().hex[:6]}", "contact_name": "赵",
              "email": f"{uuid.uuid4().hex[:8]}@x.cn", "region": "华东"}
    fields.update(kw)
    return leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(**fields)))


def test_campaigns_are_created_read_listed_and_updated_by_sales_ops(as_user, ops, query):
    _, rep = as_user()
    campaign = new_campaign(ops[1])
    assert (campaign.cost, campaign.currency, campaign.start_date, campaign.etag) == ("1000.00", "CNY", "2026-03-01",
                                                                                       "1")
    assert rep.GetCampaign(leads_pb2.GetCampaignRequest(name=campaign.name)) == campaign
    assert campaign.name in [c.name for c in rep.ListCampaigns(leads_pb2.ListCampaignsRequest(page_size=200)).campaigns]
    updated = ops[1].UpdateCampaign(leads_pb2.UpdateCampaignRequest(
        campaign=leads_pb2.Campaign(name=campaign.name, cost="2500.50", display_name="ignored"),
        update_mask=field_mask_pb2.FieldMask(paths=["cost"]), etag=campaign.etag))
    assert (updated.cost, updated.display_name, updated.etag) == ("2500.50", campaign.display_name, "2")
    request_id = str(uuid.uuid4())
    first = ops[1].CreateCampaign(leads_pb2.CreateCampaignRequest(
        campaign=leads_pb2.Campaign(display_name="重试", channel="webinar"), request_id=request_id))
    before = written(query)
    assert ops[1].CreateCampaign(leads_pb2.CreateCampaignRequest(
        campaign=leads_pb2.Campaign(display_name="重试", channel="webinar"), request_id=request_id)) == first
    assert written(query) == before


def test_bad_campaigns_are_refused_with_every_field_named_and_nothing_written(as_user, ops, query):
    _, rep = as_user()
    before = written(query)
    with pytest.raises(grpc.RpcError) as exc:
        new_campaign(ops[1], display_name=" ", channel="", cost="-5", currency="yuan", start_date="2026-02-30")
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc.value)["fields"] == ["campaign.display_name", "campaign.channel", "campaign.cost",
                                               "campaign.currency", "campaign.start_date"]
    with pytest.raises(grpc.RpcError) as exc:
        new_campaign(ops[1], cost="1.234", start_date="2026-05-02", end_date="2026-05-01")
    assert details_of(exc.value)["fields"] == ["campaign.cost", "campaign.end_date"]
    with pytest.raises(grpc.RpcError) as exc:
        new_campaign(rep)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    campaign = new_campaign(ops[1])
    before = written(query)
    for request, code in (
            (leads_pb2.UpdateCampaignRequest(campaign=leads_pb2.Campaign(name=campaign.name, end_date="2026-01-01"),
                                             update_mask=field_mask_pb2.FieldMask(paths=["end_date"])),
             grpc.StatusCode.INVALID_ARGUMENT),
            (leads_pb2.UpdateCampaignRequest(campaign=leads_pb2.Campaign(name=campaign.name, cost="1"), etag="7",
                                             update_mask=field_mask_pb2.FieldMask(paths=["cost"])),
             grpc.StatusCode.ABORTED),
            (leads_pb2.UpdateCampaignRequest(campaign=leads_pb2.Campaign(name=f"campaigns/{uuid.uuid4()}", cost="1"),
                                             update_mask=field_mask_pb2.FieldMask(paths=["cost"])),
             grpc.StatusCode.NOT_FOUND)):
        with pytest.raises(grpc.RpcError) as exc:
            ops[1].UpdateCampaign(request)
        assert exc.value.code() == code
    with pytest.raises(grpc.RpcError) as exc:
        rep.GetCampaign(leads_pb2.GetCampaignRequest(name=f"campaigns/{uuid.uuid4()}"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    # A lead's campaign must exist.
    for name, field in ((f"campaigns/{uuid.uuid4()}", "lead.campaign"), ("promo/1", "lead.campaign")):
        with pytest.raises(grpc.RpcError) as exc:
            capture(rep, campaign=name)
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc.value)["fields"] == [field]
    with pytest.raises(grpc.RpcError) as exc:
        rep.GetSourceReport(leads_pb2.GetSourceReportRequest())
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert written(query) == before


@pytest.fixture(scope="module")
def leads_worker(shangji_env, tmp_path_factory):
    """The leads worker as a subprocess, consuming from the session's broker."""
    proc = ServiceProcess("leads", "worker", worker_env(dict(os.environ)), tmp_path_factory.mktemp("leads-worker"))
    proc.start()
    proc.wait_started()
    yield proc
    proc.terminate(timeout=15)


def publish_outcome(kind, opportunity: str, lead: str, amount: str, when: datetime, event_id: str | None = None) -> str:
    opp = opportunities_pb2.Opportunity(name=opportunity, lead=lead, amount=amount, currency="CNY", title="deal")
    message = kind(opportunity=opp, change_time=timestamps.from_datetime(when))
    event_id = event_id or str(uuid.uuid4())
    env = envelopes.published("opportunities", message, subject=opportunity, event_id=event_id, time=when)
    publisher = EventPublisher(Settings.for_service("opportunities").amqp_uri, "opportunities")
    publisher.publish(env)
    publisher.close()
    return event_id


def test_the_source_report_counts_leads_qualification_conversions_and_won_amounts(
        as_user, ops, lead_settings, leads_worker, query):
    lead_settings.set(scoring_rules=[leads_pb2.ScoringRule(field="industry", values=["化工"], points=50)],
                      mql_threshold=30, sql_threshold=50, sql_requires=[])
    _, rep = as_user()
    campaign = new_campaign(ops[1], cost="1000.00")
    other = new_campaign(ops[1], channel=campaign.channel, cost="500", display_name="同渠道另一场")
    won_lead = capture(rep, campaign=campaign.name, industry="化工")
    assert won_lead.source == campaign.channel and won_lead.qualification == leads_pb2.Lead.Qualification.SQL
    second = capture(rep, campaign=campaign.name)
    plain = capture(rep, source=campaign.channel)  # the channel, no campaign
    for lead in (won_lead, second):
        rep.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name))
    now = datetime.now(UTC)
    first_id = publish_outcome(opp_events.OpportunityWon, "opportunities/a1", won_lead.name, "5000.00", now)
    publish_outcome(opp_events.OpportunityWon, "opportunities/a1", won_lead.name, "5000.00", now, event_id=first_id)
    publish_outcome(opp_events.OpportunityWon, "opportunities/a2", second.name, "1000.50", now)

    def rows():
        report = ops[1].GetSourceReport(leads_pb2.GetSourceReportRequest())
        return ({r.key: r for r in report.by_source}.get(campaign.channel),
                {r.key: r for r in report.by_campaign}.get(campaign.name),
                {r.key: r for r in report.by_campaign}.get(other.name))

    def settled(won: str):
        source, by_campaign, _ = rows()
        return by_campaign.won_amount == won and source.won_amount == won

    eventually(lambda: settled("6000.50"), what="both wins in the report")
    source, by_campaign, other_row = rows()
    assert (by_campaign.leads, by_campaign.mql, by_campaign.sql, by_campaign.conversions) == (2, 1, 1, 2)
    assert (by_campaign.cost, by_campaign.currency, by_campaign.cost_per_lead, by_campaign.return_on_spend) == (
        "1000.00", "CNY", "500.00", "6.0005")
    assert (source.leads, source.conversions, source.cost, source.cost_per_lead) == (3, 2, "1500.00", "500.00")
    assert (other_row.leads, other_row.won_amount, other_row.cost_per_lead, other_row.return_on_spend) == (
        0, "0.00", "", "0.0000")
    assert query("SELECT count(*) FROM inbox WHERE event_id = :e", e=first_id)[0][0] == 1
    # A reopened deal takes its amount back out; an older word arriving late changes nothing.
    publish_outcome(opp_events.OpportunityReopened, "opportunities/a1", won_lead.name, "5000.00",
                    now + timedelta(seconds=1))
    eventually(lambda: settled("1000.50"), what="the reopened deal's amount taken out")
    late_id = publish_outcome(opp_events.OpportunityWon, "opportunities/a1", won_lead.name, "5000.00",
                              now - timedelta(seconds=5))
    publish_outcome(opp_events.OpportunityWon, "opportunities/a3", second.name, "1.00", now)
    eventually(lambda: query("SELECT count(*) FROM inbox WHERE event_id = :e", e=late_id)[0][0] == 1,
               what="the late win handled")
    eventually(lambda: settled("1001.50"), what="a later win counted")
    assert settled("1001.50")
    assert plain.campaign == ""
