"""Protos in, commands out: the events erp_bridge consumes, as order requests, and its API's enum."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from erp_bridge.adapters.protomap import STATES
from erp_bridge.domain import model
from erp_bridge.domain.model import OrderLine, OrderRequest
from shangji.erp_bridge.v1 import erp_bridge_pb2
from shangji.opportunities.v1 import events_pb2 as opportunity_events
from shangji.samples.v1 import events_pb2 as sample_events
from shangji_kit import names
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument

DEFAULT_CURRENCY = "CNY"
_STATE_NAMES = {v: k for k, v in STATES.items()}


def request_from_sample_approved(env: Envelope) -> OrderRequest:
    """A free sales order for an approved sample request, charged to its cost centre."""
    request = env.payload(sample_events.SampleRequestApproved).request
    name = request.name or (names.format("sampleRequests", request.id) if request.id else "")
    if not name:
        raise InvalidArgument.field("request.name", "required")
    lines = tuple(OrderLine(product=line.product, quantity=Decimal(line.quantity), unit_price=Decimal(0),
                            description=line.description) for line in request.lines)
    return OrderRequest(
        reference=name, source_kind=model.SAMPLE_REQUEST, source=name,
        customer_key=model.customer_key(request.customer, request.customer_company),
        customer_name=request.customer_company, lines=lines, currency=DEFAULT_CURRENCY,
        cost_centre=request.cost_centre, recipient=request.recipient_name, phone=request.recipient_phone,
        address=request.address, description=request.purpose)


def _decimal(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidArgument.field(field, f"{text!r} is not a decimal") from exc
    if not value.is_finite():
        raise InvalidArgument.field(field, f"{text!r} is not a decimal")
    return value


def request_from_opportunity_won(env: Envelope) -> OrderRequest:
    """A normal sale of the won deal's quote lines, in its currency."""
    deal = env.payload(opportunity_events.OpportunityWon).opportunity
    name = deal.name or (names.format("opportunities", deal.id) if deal.id else "")
    if not name:
        raise InvalidArgument.field("opportunity.name", "required")
    lines = tuple(OrderLine(product=line.product,
                            quantity=_decimal(line.quantity or "0", f"opportunity.quote_lines[{i}].quantity"),
                            unit_price=_decimal(line.unit_price or "0", f"opportunity.quote_lines[{i}].unit_price"),
                            description=line.description) for i, line in enumerate(deal.quote_lines))
    return OrderRequest(
        reference=name, source_kind=model.OPPORTUNITY, source=name,
        customer_key=model.customer_key(deal.customer, deal.customer_company),
        customer_name=deal.customer_company, lines=lines, currency=deal.currency or DEFAULT_CURRENCY,
        recipient=deal.contact_name, phone=deal.contact_phone, description=deal.title)


def state_from_proto(state: int) -> str | None:
    """None for STATE_UNSPECIFIED (every state); an unknown number passes as its text for the use case to refuse
    (after it checked the caller)."""
    if state == erp_bridge_pb2.Order.STATE_UNSPECIFIED:
        return None
    return _STATE_NAMES.get(state, str(state))
