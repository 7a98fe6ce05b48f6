"""Request limits from the descriptors: every bad field named by its full path, values quoted short."""

from __future__ import annotations

import time

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2 as opp
from shangji_kit import limits
from shangji_kit.errors import InvalidArgument
from shangji_kit.rpc.status import to_status


def fields(message) -> dict[str, str]:
    return {v.field: v.description for v in limits.violations(message)}


def test_every_bad_field_is_named_by_its_full_path():
    request = opp.RegisterOpportunityRequest(opportunity=opp.Opportunity(
        title="x" * 1001, customer_company="ok", amount="1" * 65, difficulty="NaN", expected_close_date="2026/02/28",
        quote_lines=[opp.QuoteLine(product="p", quantity="1", unit_price="1"),
                     opp.QuoteLine(product="p", quantity="Infinity", unit_price="1\x00"),
                     opp.QuoteLine(product="a\x00b", quantity="2", unit_price="-1e16")]),
        request_id="r" * 20_001)
    found = fields(request)
    assert set(found) == {
        "opportunity.title", "opportunity.amount", "opportunity.expected_close_date",
        "opportunity.quote_lines[1].unit_price", "opportunity.quote_lines[2].product", "request_id"}
    assert "NUL" in found["opportunity.quote_lines[2].product"]
    assert "65 characters" in found["opportunity.amount"]


def test_good_values_pass_and_an_empty_request_costs_nothing():
    good = opp.RegisterOpportunityRequest(opportunity=opp.Opportunity(
        title="华东精密 五轴加工中心", customer_company="华东精密机械有限公司", amount="9999999999999999.99",
        difficulty="99999.999", expected_close_date="2027-01-31",
        quote_lines=[opp.QuoteLine(product="p", quantity="3.5", unit_price="12000.00")]), request_id="r-1")
    assert limits.violations(good) == []
    assert limits.violations(opp.GetOpportunityRequest()) == []


def test_a_timestamp_that_is_no_time_at_all_is_refused_the_rest_is_the_domains():
    for seconds, nanos, bad in ((-1, 0, False), (0, 0, False), (int(time.time()), 5, False),
                                (253402300800, 0, False), (2**40 + 1, 0, True), (-(2**40) - 1, 0, True),
                                (10, -1, True), (10, 1_000_000_000, True)):
        request = leads_pb2.RecordLeadBehaviourRequest(name="leads/x", type="visit",
                                                        occur_time=Timestamp(seconds=seconds, nanos=nanos))
        assert ("occur_time" in fields(request)) is bad, (seconds, nanos)


def test_repeated_fields_maps_and_field_masks_are_bounded():
    request = opp.UpdateOpportunityRequest(opportunity=opp.Opportunity(product_lines=["a"] * 1001))
    request.update_mask.paths.extend(["title"] * 65)
    assert set(fields(request)) == {"opportunity.product_lines", "update_mask.paths"}
    settings = leads_pb2.LeadSettings()
    settings.behaviour_points["v\x00"] = 3
    request = leads_pb2.UpdateLeadSettingsRequest(settings=settings)
    assert list(fields(request)) == ["settings.behaviour_points['v\\\\0']"]


def test_a_huge_bad_value_is_quoted_short_and_the_status_fits_in_its_headers():
    request = opp.RegisterOpportunityRequest(opportunity=opp.Opportunity(
        title="标" * 6000, customer_company="公" * 6000, amount="9" * 6000,
        quote_lines=[opp.QuoteLine(product="\x00" * 6000, unit_price="x" * 6000) for _ in range(400)]))
    try:
        limits.check_request(request)
    except InvalidArgument as exc:
        error = exc
    assert len(error.violations) == limits.MAX_VIOLATIONS + 1  # and one saying how many more
    assert all(len(v.description) < 200 for v in error.violations)
    status = to_status(error, "opportunities")
    headers = sum(len(v) for _, v in status.trailing_metadata) + len(status.details.encode())
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT and headers < 12_000


def test_a_long_domain_message_is_clipped_by_the_mapping():
    error = InvalidArgument.field("lead.company", "already used by " + "x" * 20_000)
    status = to_status(error, "leads")
    assert len(status.details) <= 310
    assert sum(len(v) for _, v in status.trailing_metadata) < 12_000
