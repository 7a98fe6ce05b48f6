"""The alert rules with chosen clocks: no database, no protos."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from opportunities.domain import alerts
from opportunities.domain.model import LOST, OPEN, Opportunity

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def deal(**kw) -> Opportunity:
    values = dict(id="d1", title="t", customer_company="c", contact_name="", contact_phone="", contact_email="",
                  region="", source="", owner_id="u1", registrant_id="u1", pipeline_id="p", stage_key="discover",
                  stage_display_name="发现机会", lead_id=None, create_time=NOW, update_time=NOW,
                  stage_enter_time=NOW - timedelta(days=3), stage_category=OPEN)
    values.update(kw)
    return Opportunity(**values)


@pytest.mark.parametrize(("close", "kind", "days"), [
    (date(2026, 3, 10), alerts.CLOSE_DATE_APPROACHING, 0),
    (date(2026, 3, 17), alerts.CLOSE_DATE_APPROACHING, 7),
    (date(2026, 3, 18), None, 0),
    (date(2026, 3, 9), alerts.CLOSE_DATE_PASSED, 1),
    (date(2026, 1, 9), alerts.CLOSE_DATE_PASSED, 60),
])
def test_close_date(close, kind, days):
    alert = alerts.close_date_alert(deal(expected_close_date=close), NOW)
    if kind is None:
        assert alert is None
    else:
        assert (alert.kind, alert.days, alert.condition_key) == (kind, days, close.isoformat())


def test_today_is_the_companys_date():
    # 23:59 on the 17th in Shanghai is 15:59 UTC; a minute later the 17th is over there, though not in UTC.
    late = datetime(2026, 3, 17, 15, 59, tzinfo=UTC)
    assert alerts.close_date_alert(deal(expected_close_date=date(2026, 3, 17)), late).kind == \
        alerts.CLOSE_DATE_APPROACHING
    assert alerts.close_date_alert(deal(expected_close_date=date(2026, 3, 17)), late + timedelta(minutes=1)).kind == \
        alerts.CLOSE_DATE_PASSED
    with pytest.raises(ValueError):
        alerts.today_of(datetime(2026, 3, 10))


def test_no_close_date_no_alert():
    assert alerts.close_date_alert(deal(expected_close_date=None), NOW) is None


@pytest.mark.parametrize("kw", [dict(stage_category=LOST), dict(registration_state="pending_arbitration"),
                                dict(owner_id=None, registration_state="unassigned")])
def test_closed_pending_and_unassigned_deals_are_not_watched(kw):
    d = deal(expected_close_date=date(2026, 3, 1), amount=Decimal("5000000"), **kw)
    assert alerts.close_date_alert(d, NOW) is None
    assert alerts.stalled_alert(d, 1, NOW) is None
    assert alerts.big_deal_alert(d, Decimal("1"), (), NOW) is None


def test_stalled_after_max_days():
    entered = NOW - timedelta(days=14)
    assert alerts.stalled_alert(deal(stage_enter_time=entered), 14, NOW) is None  # exactly the limit
    alert = alerts.stalled_alert(deal(stage_enter_time=entered - timedelta(minutes=1)), 14, NOW)
    assert (alert.kind, alert.stage_key, alert.max_days, alert.days) == (alerts.STALLED, "discover", 14, 14)
    assert alert.condition_key.startswith("discover@2026-02-24")


def test_stage_without_limit_never_stalls():
    assert alerts.stalled_alert(deal(stage_enter_time=NOW - timedelta(days=999)), None, NOW) is None
    assert alerts.stalled_alert(deal(stage_enter_time=None), 3, NOW) is None


def test_big_deal_strictly_above_threshold_with_managers_without_owner():
    assert alerts.big_deal_alert(deal(amount=Decimal("1000000.00")), Decimal("1000000"), (), NOW) is None
    assert alerts.big_deal_alert(deal(amount=Decimal("5")), None, ("m",), NOW) is None
    assert alerts.big_deal_alert(deal(amount=None), Decimal("0"), ("m",), NOW) is None
    alert = alerts.big_deal_alert(deal(amount=Decimal("1000000.01")), Decimal("1000000"), ("m1", "u1", "m2", "m1"),
                                  NOW)
    assert (alert.kind, alert.manager_ids, alert.condition_key) == (alerts.BIG_DEAL, ("m1", "m2"), "above 1000000")


def test_scan_combines_close_date_and_stall():
    d = deal(expected_close_date=date(2026, 3, 12), stage_enter_time=NOW - timedelta(days=20))
    assert sorted(a.kind for a in alerts.scan(d, 14, NOW)) == [alerts.CLOSE_DATE_APPROACHING, alerts.STALLED]
    assert alerts.scan(deal(expected_close_date=date(2026, 6, 1)), 14, NOW) == []
