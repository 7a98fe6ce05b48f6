"""Collision protection (撞单): the pure rules of opportunities.domain.registration, with chosen clocks."""

from datetime import UTC, datetime, timedelta

import pytest

from opportunities.domain import registration as r
from shangji_kit.errors import InvalidArgument

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SETTINGS = r.RegistrationSettings(protection_days=90, collision_mode=r.REFUSE)


def holding(owner="rep-b", lines=("ERP",), age_days=10, is_open=True, state=r.ACTIVE, id="h1"):
    return r.Holding(opportunity_id=id, owner_id=owner, product_lines=tuple(lines),
                     create_time=NOW - timedelta(days=age_days), is_open=is_open, registration_state=state)


@pytest.mark.parametrize(("a", "b"), [
    ("华东精密机械有限公司", "华东精密机械"),
    ("华东精密机械股份有限公司", " 华东 精密机械 "),
    ("ＡＢＣ科技有限公司", "abc科技"),
    ("Acme Co., Ltd.", "ACME"),
    ("Acme Inc.", "acme"),
])
def test_customer_names_are_normalised(a, b):
    assert r.customer_key(a) == r.customer_key(b)


def test_different_customers_differ_and_a_bare_suffix_is_kept():
    assert r.customer_key("华东精密") != r.customer_key("华南精密")
    assert r.customer_key("公司") == "公司"


def test_another_reps_open_deal_on_a_shared_line_within_the_period_collides():
    c = r.find_collision("rep-a", ["crm", "ERP "], [holding()], SETTINGS, NOW)
    assert c is not None and c.holder == "users/rep-b" and c.shared_lines == ("ERP ",)
    assert c.since == NOW - timedelta(days=10) and c.protected_until == NOW + timedelta(days=80)
    meta = c.metadata()
    assert meta["holder"] == "users/rep-b" and meta["since"] == (NOW - timedelta(days=10)).isoformat()
    error = c.error("华东精密")
    assert error.reason == "REGISTRATION_COLLISION" and error.metadata == meta
    assert "users/rep-b" in error.message


@pytest.mark.parametrize("h", [
    holding(owner="rep-a"),                       # the registrant's own deal
    holding(lines=("MES",)),                      # no shared product line
    holding(lines=()),                            # a deal without product lines holds nothing
    holding(age_days=90),                         # protection ended exactly now
    holding(age_days=200),
    holding(is_open=False),                       # won or lost: released
    holding(state=r.PENDING_ARBITRATION),         # a queued registration holds nothing
    holding(state=r.REJECTED),
])
def test_no_collision(h):
    assert r.find_collision("rep-a", ["ERP"], [h], SETTINGS, NOW) is None


def test_just_inside_the_period_collides_and_the_period_is_a_setting():
    assert r.find_collision("rep-a", ["ERP"], [holding(age_days=89)], SETTINGS, NOW) is not None
    short = r.RegistrationSettings(protection_days=30)
    assert r.find_collision("rep-a", ["ERP"], [holding(age_days=31)], short, NOW) is None
    assert r.find_collision("rep-a", ["ERP"], [holding()], r.RegistrationSettings(protection_days=0), NOW) is None


def test_product_lines_compare_case_and_width_insensitively_and_no_lines_collide_with_nothing():
    assert r.find_collision("rep-a", ["ｅｒｐ"], [holding()], SETTINGS, NOW) is not None
    assert r.find_collision("rep-a", [], [holding()], SETTINGS, NOW) is None


def test_the_earliest_holder_is_named():
    older, newer = holding(owner="rep-c", age_days=40, id="h2"), holding(age_days=5)
    assert r.find_collision("rep-a", ["ERP"], [newer, older], SETTINGS, NOW).holder == "users/rep-c"


def test_settings_and_decisions_are_checked():
    with pytest.raises(ValueError):
        r.RegistrationSettings(collision_mode="ask")
    with pytest.raises(ValueError):
        r.RegistrationSettings(protection_days=-1)
    assert r.check_decision("APPROVE") == r.APPROVE
    with pytest.raises(InvalidArgument) as exc:
        r.check_decision("")
    assert exc.value.violations[0].field == "decision"
