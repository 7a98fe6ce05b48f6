"""The reports' pure rules: periods and buckets, forecast categories, the sales cycle, target periods and splits."""

from datetime import date
from decimal import Decimal

import pytest

from opportunities.domain import reporting
from opportunities.domain.reporting import Period
from shangji_kit.errors import InvalidArgument


def fields(exc: pytest.ExceptionInfo) -> list[str]:
    return [v.field for v in exc.value.violations]


def test_a_period_ending_before_it_starts_names_end_date():
    with pytest.raises(InvalidArgument) as exc:
        reporting.parse_period("2026-11-30", "2026-11-01")
    assert fields(exc) == ["period.end_date"]


def test_missing_and_malformed_dates_are_each_named():
    with pytest.raises(InvalidArgument) as exc:
        reporting.parse_period("", "2026-02-30")
    assert fields(exc) == ["period.start_date", "period.end_date"]


def test_a_period_longer_than_five_years_is_refused():
    with pytest.raises(InvalidArgument) as exc:
        reporting.parse_period("2020-01-01", "2026-01-01")
    assert fields(exc) == ["period.end_date"]


def test_buckets_are_whole_weeks_months_and_quarters_that_meet_the_period():
    p = Period(date(2026, 11, 20), date(2027, 1, 5))
    assert [(b.start, b.end) for b in reporting.buckets(p, "month")] == [
        (date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 12, 1), date(2026, 12, 31)),
        (date(2027, 1, 1), date(2027, 1, 31))]
    assert [b.start for b in reporting.buckets(p, "quarter")] == [date(2026, 10, 1), date(2027, 1, 1)]
    weeks = reporting.buckets(Period(date(2026, 11, 1), date(2026, 11, 10)), "week")
    assert [(b.start, b.end) for b in weeks] == [(date(2026, 10, 26), date(2026, 11, 1)),
                                                 (date(2026, 11, 2), date(2026, 11, 8)),
                                                 (date(2026, 11, 9), date(2026, 11, 15))]


@pytest.mark.parametrize("probability, category", [(100, "commit"), (70, "commit"), (69, "best_case"),
                                                   (40, "best_case"), (39, "pipeline"), (0, "pipeline")])
def test_forecast_category_follows_the_effective_probability(probability, category):
    assert reporting.forecast_category(probability) == category


def test_the_override_wins_over_the_stage_probability():
    assert reporting.effective_probability(None, 60) == 60
    assert reporting.effective_probability(0, 60) == 0
    assert reporting.weighted(Decimal("12345.67"), 30) == Decimal("3703.701")


def test_sales_cycle_distribution_average_and_median():
    cycle = reporting.sales_cycle([0, 30, 31, 200, 90])
    assert [(b.min_days, b.max_days, b.count) for b in cycle.buckets] == [
        (0, 30, 2), (31, 60, 1), (61, 90, 1), (91, 180, 0), (181, None, 1)]
    assert (cycle.won_count, cycle.average_days, cycle.median_days) == (5, Decimal("70.2"), Decimal("31"))
    assert reporting.sales_cycle([]).average_days is None


def test_a_target_starts_on_the_first_day_of_its_period():
    assert reporting.target_period("quarter", date(2026, 10, 1)) == Period(date(2026, 10, 1), date(2026, 12, 31))
    assert reporting.target_period("year", date(2027, 1, 1)).end == date(2027, 12, 31)
    with pytest.raises(InvalidArgument) as exc:
        reporting.target_period("quarter", date(2026, 11, 1))
    assert fields(exc) == ["target.start_date"]


def test_an_even_split_gives_the_cents_left_to_the_first_members():
    assert reporting.split_evenly(Decimal("100.00"), ["a", "b", "c"]) == [
        ("a", Decimal("33.34")), ("b", Decimal("33.33")), ("c", Decimal("33.33"))]
    assert sum(a for _, a in reporting.split_evenly(Decimal("0.02"), ["a", "b", "c"])) == Decimal("0.02")


def test_shares_must_add_up_and_name_each_member_once():
    reporting.check_shares(Decimal("10"), [("a", Decimal("4")), ("b", Decimal("6"))])
    with pytest.raises(InvalidArgument) as exc:
        reporting.check_shares(Decimal("10"), [("a", Decimal("4"))])
    assert fields(exc) == ["shares"]
    with pytest.raises(InvalidArgument) as exc:
        reporting.check_shares(Decimal("10"), [("a", Decimal("5")), ("a", Decimal("5"))])
    assert fields(exc) == ["shares[1].subject"]


def test_rates_and_money_are_fixed_places_and_empty_without_a_denominator():
    assert reporting.rate(1, 3) == "0.3333"
    assert reporting.rate(1, 0) == ""
    assert reporting.money(Decimal("1.005")) == "1.01"
    assert reporting.months_overlap(Period(date(2026, 10, 1), date(2026, 12, 31)),
                                    Period(date(2026, 12, 1), date(2026, 12, 31))) == Decimal(1) / 3
