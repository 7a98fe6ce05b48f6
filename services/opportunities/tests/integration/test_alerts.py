"""Alerts as events (close date approaching / passed, stalled, big deal) on the real database, each once."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from google.protobuf import field_mask_pb2

from opportunities import bootstrap
from opportunities.service_layer import alerts
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit import company_time
from shangji_kit.settings import Settings

TODAY = datetime.now(UTC)


def uow():
    return bootstrap.uow_factory(Settings.for_service("opportunities"))()


def register(caller, close_in_days=30, **fields) -> pb.Opportunity:
    close = (company_time.today(TODAY) + timedelta(days=close_in_days)).isoformat()
    return caller.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        customer_company=f"提醒客户{uuid.uuid4().hex[:8]}", product_lines=["ERP"], expected_close_date=close,
        **fields)))


def events(scalar, deal: pb.Opportunity, kind: str) -> int:
    return scalar("SELECT count(*) FROM outbox WHERE subject = :s AND type = :t", s=deal.name,
                  t=f"shangji.opportunities.v1.{kind}")


def test_close_date_alerts_once_per_date(as_user, scalar):
    deal = register(as_user(str(uuid.uuid4())))
    # Closing in 30 days and entered today: nothing is due yet for this deal.
    assert [a for a in alerts.scan_alerts(TODAY, uow()) if a.opportunity.id == deal.id] == []
    assert events(scalar, deal, "OpportunityCloseDateApproaching") == 0
    soon = TODAY + timedelta(days=25)
    raised = [a for a in alerts.scan_alerts(soon, uow()) if a.opportunity.id == deal.id]
    assert sorted((a.kind, a.days) for a in raised) == [("close_date_approaching", 5), ("stalled", 24)]
    assert [a for a in alerts.scan_alerts(soon, uow()) if a.opportunity.id == deal.id] == []
    assert events(scalar, deal, "OpportunityCloseDateApproaching") == 1
    data = scalar("SELECT data FROM outbox WHERE subject = :s AND type LIKE '%Approaching'", s=deal.name)
    assert (data["daysLeft"], data["expectedCloseDate"]) == (5, deal.expected_close_date)
    late = TODAY + timedelta(days=31)
    kinds = [a.kind for a in alerts.scan_alerts(late, uow()) if a.opportunity.id == deal.id]
    assert "close_date_passed" in kinds
    alerts.scan_alerts(late + timedelta(hours=1), uow())
    assert events(scalar, deal, "OpportunityCloseDatePassed") == 1


def test_stalled_once_per_stay(as_user, scalar):
    deal = register(as_user(str(uuid.uuid4())), close_in_days=200)
    # The limit of the deal's own pipeline version: another test in the session may have loaded a new version
    # of the default pipeline with a different limit (test_lifecycle_api does).
    stages = scalar("SELECT v.definition -> 'stages' FROM pipeline_versions v JOIN opportunities o ON "
                    "o.pipeline_id = v.pipeline_id AND o.pipeline_version = v.version WHERE o.id = :i",
                    i=deal.name.split("/")[-1])
    max_days = next(s["max_days"] for s in stages if s["key"] == "discover")
    assert deal.stage == "discover" and max_days
    assert [a for a in alerts.scan_alerts(TODAY + timedelta(days=max_days - 1), uow())
            if a.opportunity.id == deal.id and a.kind == "stalled"] == []
    stalled_at = TODAY + timedelta(days=max_days + 1)
    raised = [a for a in alerts.scan_alerts(stalled_at, uow()) if a.opportunity.id == deal.id]
    assert [(a.kind, a.stage_key, a.max_days) for a in raised] == [("stalled", "discover", max_days)]
    alerts.scan_alerts(stalled_at + timedelta(days=1), uow())
    assert events(scalar, deal, "OpportunityStalled") == 1
    assert scalar("SELECT count(*) FROM alerts_sent WHERE opportunity_id = :i AND kind = 'stalled'", i=deal.id) == 1


def test_closed_deals_raise_nothing(as_user, scalar):
    rep = as_user(str(uuid.uuid4()))
    deal = register(rep, close_in_days=3)
    rep.LoseOpportunity(pb.LoseOpportunityRequest(name=deal.name, etag=deal.etag, reason="价格"))
    alerts.scan_alerts(TODAY + timedelta(days=60), uow())
    assert scalar("SELECT count(*) FROM alerts_sent WHERE opportunity_id = :i", i=deal.id) == 0


def test_scan_needs_an_aware_clock():
    with pytest.raises(ValueError):
        alerts.scan_alerts(datetime(2026, 1, 1), uow())


@pytest.fixture
def threshold(execute):
    execute("UPDATE registration_settings SET big_deal_threshold = 1000000")
    yield
    execute("UPDATE registration_settings SET big_deal_threshold = NULL")


def test_big_deal_names_the_owners_managers(as_user, org, scalar, threshold):
    top_head, team_head, rep_id = (str(uuid.uuid4()) for _ in range(3))
    top = org.department(head=top_head)
    team = org.department(parent=top, head=team_head)
    org.user(top_head, department=top, roles=("sales_manager",))
    org.user(team_head, department=team, roles=("sales_manager",))
    org.user(rep_id, department=team)
    rep = as_user(rep_id)
    small = register(rep, amount="1000000.00")
    assert events(scalar, small, "OpportunityBigDeal") == 0
    big = register(rep, amount="2500000.00")
    data = scalar("SELECT data FROM outbox WHERE subject = :s AND type LIKE '%BigDeal'", s=big.name)
    assert data["managers"] == [f"users/{team_head}", f"users/{top_head}"]
    assert (data["amount"], data["threshold"]) == ("2500000.00", "1000000.00")
    # Raised again on update? Not for the same threshold.
    rep.UpdateOpportunity(pb.UpdateOpportunityRequest(opportunity=pb.Opportunity(name=big.name, amount="3000000"),
                                                      update_mask=field_mask_pb2.FieldMask(paths=["amount"])))
    assert events(scalar, big, "OpportunityBigDeal") == 1
    # An update that lifts a deal above the threshold raises it.
    updated = rep.UpdateOpportunity(pb.UpdateOpportunityRequest(
        opportunity=pb.Opportunity(name=small.name, amount="1000000.01"),
        update_mask=field_mask_pb2.FieldMask(paths=["amount"])))
    assert updated.amount == "1000000.01"
    assert events(scalar, small, "OpportunityBigDeal") == 1


def test_big_deal_unknown_owner_has_no_managers(as_user, scalar, threshold):
    deal = register(as_user(str(uuid.uuid4())), amount="1000001")
    assert scalar("SELECT data FROM outbox WHERE subject = :s AND type LIKE '%BigDeal'", s=deal.name).get(
        "managers", []) == []


def test_no_threshold_no_big_deal(as_user, scalar):
    deal = register(as_user(str(uuid.uuid4())), amount="99999999")
    assert events(scalar, deal, "OpportunityBigDeal") == 0


def test_negative_threshold_is_refused(execute):
    with pytest.raises(sa.exc.IntegrityError):
        execute("UPDATE registration_settings SET big_deal_threshold = -1")


def test_worker_timer_scans_with_the_real_clock(worker, as_user, scalar):
    deal = register(as_user(str(uuid.uuid4())), close_in_days=2)
    worker.scan_alerts()
    assert events(scalar, deal, "OpportunityCloseDateApproaching") == 1
