"""Decisions the workflows leave to the domain: who may arbitrate, where a reopened deal goes back to, and a
registration's fields checked all at once."""

from datetime import UTC, date, datetime

import pytest

from opportunities.domain import model, registration
from opportunities.domain.pipeline import pipeline_from_dict
from shangji_kit.errors import InvalidArgument

T = datetime(2026, 6, 1, tzinfo=UTC)
PIPELINE = pipeline_from_dict({"key": "p", "display_name": "P", "stages": [
    {"key": k, "display_name": k, "category": c, "probability": 50}
    for k, c in (("a", "open"), ("b", "open"), ("won", "won"), ("lost", "lost"))]})


@pytest.mark.parametrize(("arbiter", "may"), [
    (registration.Arbiter(True, True, False, False), True),
    (registration.Arbiter(True, False, True, False), True),
    (registration.Arbiter(True, False, False, True), True),
    (registration.Arbiter(True, False, False, False), False),
    (registration.Arbiter(False, True, True, True), False),
])
def test_sales_ops_and_active_managers_above_either_rep_arbitrate(arbiter, may):
    assert registration.may_arbitrate(arbiter) is may


def stay(key: str) -> model.StageStay:
    return model.StageStay(stage_key=key, enter_time=T, exit_time=None, actor_id=None, reason="")


def test_a_reopened_deal_goes_back_to_the_last_open_stage_it_stayed_in():
    assert model.stage_to_reopen(PIPELINE, [stay("a"), stay("b"), stay("won")]).key == "b"
    assert model.stage_to_reopen(PIPELINE, [stay("gone"), stay("lost")]).key == "a"


def test_a_registration_reports_every_bad_field_and_parses_the_good_ones():
    with pytest.raises(InvalidArgument) as exc:
        model.parse_registration(title="", customer_company="", product_lines=(), currency="xx1", amount="-1",
                                 expected_close_date="2026-02-30", difficulty="1e309",
                                 quote_lines=[("A", "NaN", "1", "")], pipeline="pipelines/x", customer="",
                                 today=T.date())
    assert [v.field for v in exc.value.violations] == [
        "opportunity.customer_company", "opportunity.title", "opportunity.product_lines", "opportunity.currency",
        "opportunity.amount", "opportunity.expected_close_date", "opportunity.difficulty",
        "opportunity.quote_lines[0].quantity", "opportunity.pipeline"]
    values = model.parse_registration(title="", customer_company="C", product_lines=("ERP",), currency="",
                                      amount="12.5", expected_close_date="2026-07-01", difficulty="", quote_lines=[],
                                      pipeline="", customer="", today=T.date())
    assert (values.amount, values.expected_close_date, values.difficulty) == (model.Decimal("12.50"),
                                                                              date(2026, 7, 1), None)


def test_an_edit_parses_only_the_masked_fields_and_reports_every_bad_one():
    fields = dict(title=" ", amount="1e309", currency="cny", expected_close_date="x", probability=30,
                  probability_note="", checklist=(), product_lines=("ERP",), customer_id=None, difficulty="0",
                  quote_lines=[])
    with pytest.raises(InvalidArgument) as exc:
        model.parse_changes({"title", "amount", "difficulty", "currency"}, **fields)
    assert [v.field for v in exc.value.violations] == ["opportunity.title", "opportunity.amount",
                                                       "opportunity.difficulty"]
    title, changes = model.parse_changes({"currency", "product_lines", "customer"}, **fields)
    assert (title, changes) == (None, {"currency": "cny", "product_lines": ("ERP",), "customer_id": None})


@pytest.mark.parametrize("max_days", [0, 3651, 10**9])
def test_a_stage_limit_is_a_day_count_a_date_can_take(max_days):
    stages = [{"key": "a", "display_name": "A", "category": "open", "probability": 10, "max_days": max_days},
              {"key": "won", "display_name": "W", "category": "won", "probability": 100},
              {"key": "lost", "display_name": "L", "category": "lost", "probability": 0}]
    with pytest.raises(InvalidArgument) as exc:
        pipeline_from_dict({"key": "p", "display_name": "P", "stages": stages})
    assert [v.field for v in exc.value.violations] == ["stages[0].max_days"]
