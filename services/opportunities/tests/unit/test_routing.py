"""Routing rules: ordered, data, pure (opportunities.domain.routing)."""

from decimal import Decimal

import pytest

from opportunities.domain.routing import Route, RoutingRule, route
from shangji_kit.errors import InvalidArgument

RULES = [
    RoutingRule(position=1, owner_id="east-erp", region="华东", product_line="ERP"),
    RoutingRule(position=2, owner_id="big", amount_min=Decimal("1000000")),
    RoutingRule(position=3, owner_id="mid", amount_min=Decimal("100000"), amount_max=Decimal("1000000")),
    RoutingRule(position=4, owner_id="south", region="华南"),
]


@pytest.mark.parametrize(("region", "lines", "amount", "expected"), [
    ("华东", ["erp"], None, Route("east-erp", 1)),                 # first rule, product line case-insensitive
    (" 华东 ", ["MES", "ERP"], Decimal("5"), Route("east-erp", 1)),
    ("华东", ["MES"], Decimal("1000000"), Route("big", 2)),          # band lower bound inclusive
    ("华北", ["MES"], Decimal("999999.99"), Route("mid", 3)),        # upper bound exclusive
    ("华南", ["MES"], Decimal("99999"), Route("south", 4)),
    ("华北", ["MES"], Decimal("10"), Route(None)),                   # nothing matches: the queue
])
def test_the_first_matching_rule_decides(region, lines, amount, expected):
    assert route(RULES, region, lines, amount) == expected


@pytest.mark.parametrize(("region", "lines", "amount", "missing"), [
    ("", ["ERP"], Decimal("1"), ("region",)),
    ("华东", [], Decimal("1"), ("product_lines",)),
    ("", [], None, ("region", "product_lines")),
    ("华北", ["MES"], None, ("amount",)),  # rule 1 decided (no match), rule 2 needs the amount
])
def test_a_rule_needing_a_missing_field_sends_the_deal_to_the_queue(region, lines, amount, missing):
    assert route(RULES, region, lines, amount) == Route(None, missing=missing)


def test_rules_are_tried_by_position_not_list_order_and_no_rules_queue():
    assert route(list(reversed(RULES)), "华东", ["ERP"], Decimal("5")).owner_id == "east-erp"
    assert route([], "华东", ["ERP"], Decimal("5")) == Route(None)


def test_a_rule_needs_a_condition_and_a_sane_band():
    with pytest.raises(InvalidArgument):
        RoutingRule(position=0, owner_id="x")
    with pytest.raises(InvalidArgument) as exc:
        RoutingRule(position=0, owner_id="x", amount_min=Decimal("5"), amount_max=Decimal("5"))
    assert exc.value.violations[0].field == "rules[0].amount_max"
