"""Events in, as their producers publish them: what order each one asks the ERP for."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from erp_bridge.adapters import protomap
from erp_bridge.domain import model
from erp_bridge.entrypoints import inbound
from shangji.opportunities.v1 import events_pb2 as opportunity_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji.samples.v1 import events_pb2 as sample_events
from shangji.samples.v1 import samples_pb2
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument
from shangji_kit.testing import envelopes


def wrap(service: str, message) -> Envelope:
    return envelopes.parsed(service, message, subject="s")


def test_an_approved_sample_asks_for_a_free_order_charged_to_its_cost_centre():
    request = samples_pb2.SampleRequest(
        name="sampleRequests/r1", customer_company="华东精密", cost_centre="departments/d1", recipient_name="王工",
        address="上海", lines=[samples_pb2.SampleLine(product="SMP-A", quantity=3, unit_cost="12.50")])
    order = inbound.request_from_sample_approved(wrap("samples", sample_events.SampleRequestApproved(request=request)))
    assert (order.reference, order.source_kind, order.cost_centre) == ("sampleRequests/r1", model.SAMPLE_REQUEST,
                                                                       "departments/d1")
    assert order.lines == (model.OrderLine("SMP-A", Decimal(3), Decimal(0)),)
    assert order.free and order.customer_key == "company:华东精密"
    assert (order.recipient, order.address) == ("王工", "上海")


def test_a_won_deal_asks_for_a_sale_of_its_quote_lines_in_its_currency():
    deal = opportunities_pb2.Opportunity(
        name="opportunities/o1", customer="customers/c1", customer_company="苏州齿轮", currency="USD",
        quote_lines=[opportunities_pb2.QuoteLine(product="GEAR-100", quantity="2", unit_price="4800.00")])
    order = inbound.request_from_opportunity_won(wrap("opportunities", opportunity_events.OpportunityWon(
        opportunity=deal)))
    assert (order.reference, order.source_kind, order.currency, order.customer_key) == (
        "opportunities/o1", model.OPPORTUNITY, "USD", "customers/c1")
    assert order.lines == (model.OrderLine("GEAR-100", Decimal(2), Decimal("4800.00")),)
    assert not order.free


def test_a_malformed_price_names_the_line():
    deal = opportunities_pb2.Opportunity(
        name="opportunities/o1", quote_lines=[opportunities_pb2.QuoteLine(product="G", quantity="1", unit_price="x")])
    with pytest.raises(InvalidArgument) as exc:
        inbound.request_from_opportunity_won(wrap("opportunities", opportunity_events.OpportunityWon(
            opportunity=deal)))
    assert exc.value.violations[0].field == "opportunity.quote_lines[0].unit_price"


def test_events_out_carry_the_order_number_or_the_error():
    job = model.Job(id="j", reference="sampleRequests/r1", source_kind=model.SAMPLE_REQUEST,
                    source="sampleRequests/r1", request=None)
    now = datetime.now(UTC)
    job.confirmed(model.ErpOrder(1, "SO-9", "processing", job.reference), now)
    message, subject = protomap.event_to_proto(job.events[-1])
    assert (message.erp_order_number, message.erp_state, subject) == ("SO-9", "processing", "sampleRequests/r1")
    job.failed("no ERP product", now, model.RetryPolicy(), permanent=True)
    message, _ = protomap.event_to_proto(job.events[-1])
    assert (message.error, message.attempts) == ("no ERP product", 1)
