"""Protos <-> domain for erp_bridge: the events it consumes and emits, and its API's messages. The only module
here (with the entrypoints) that imports ``*_pb2``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from erp_bridge.domain import model
from erp_bridge.domain.model import CustomerMapping, Job, OrderLine, OrderRequest, ProductMapping
from shangji.erp_bridge.v1 import erp_bridge_pb2, events_pb2
from shangji.opportunities.v1 import events_pb2 as opportunity_events
from shangji.samples.v1 import events_pb2 as sample_events
from shangji_kit import names, org_events
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument

DEFAULT_CURRENCY = "CNY"

_STATES = {model.PENDING: erp_bridge_pb2.Order.PENDING, model.CONFIRMED: erp_bridge_pb2.Order.CONFIRMED,
           model.DEAD_LETTER: erp_bridge_pb2.Order.DEAD_LETTER}
_STATE_NAMES = {v: k for k, v in _STATES.items()}


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


# --- events in ----------------------------------------------------------------------------------------

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


# teams' organisation events: the kit reads them the same way for every service.
user_from_event = org_events.user_from_event


# --- events out ---------------------------------------------------------------------------------------

def event_to_proto(event: object) -> tuple[Message, str]:
    if isinstance(event, model.OrderConfirmed):
        job = event.job
        return events_pb2.ErpOrderConfirmed(
            source_kind=job.source_kind, source=job.source, reference=job.reference,
            erp_order_number=job.erp_order_number, erp_state=job.erp_state, confirm_time=_ts(event.time)), job.source
    if isinstance(event, model.OrderDeadLettered):
        job = event.job
        return events_pb2.ErpOrderDeadLettered(
            source_kind=job.source_kind, source=job.source, reference=job.reference, error=job.last_error,
            attempts=job.attempts, dead_letter_time=_ts(event.time)), job.source
    raise TypeError(f"no proto for {type(event).__name__}")


# --- the API ------------------------------------------------------------------------------------------

def order_to_proto(job: Job) -> erp_bridge_pb2.Order:
    return erp_bridge_pb2.Order(
        name=names.format("erpOrders", job.id), id=job.id, reference=job.reference, source_kind=job.source_kind,
        source=job.source, state=_STATES[job.state], attempts=job.attempts,
        next_attempt_time=_ts(job.next_attempt_time), erp_order_number=job.erp_order_number,
        erp_state=job.erp_state, last_error=job.last_error, create_time=_ts(job.create_time),
        update_time=_ts(job.update_time))


def orders_to_proto(jobs: list[Job], next_page_token: str = "") -> erp_bridge_pb2.ListOrdersResponse:
    return erp_bridge_pb2.ListOrdersResponse(orders=[order_to_proto(j) for j in jobs],
                                             next_page_token=next_page_token)


def state_from_proto(state: int) -> str | None:
    if state == erp_bridge_pb2.Order.STATE_UNSPECIFIED:
        return None
    if state not in _STATE_NAMES:
        raise InvalidArgument.field("state", f"unknown state {state}")
    return _STATE_NAMES[state]


def _product_code(name: str, field: str) -> str:
    prefix = "productMappings/"
    if not name.startswith(prefix) or len(name) == len(prefix):
        raise InvalidArgument.field(field, "must look like productMappings/{product code}")
    return name[len(prefix):]


def product_mapping_from_request(request: erp_bridge_pb2.UpsertProductMappingRequest,
                                 now: datetime) -> ProductMapping:
    return ProductMapping(product=_product_code(request.mapping.name, "mapping.name"),
                          erp_product_code=request.mapping.erp_product_code, update_time=now)


def product_name(name: str) -> str:
    return _product_code(name, "name")


def product_mapping_to_proto(m: ProductMapping) -> erp_bridge_pb2.ProductMapping:
    return erp_bridge_pb2.ProductMapping(name=f"productMappings/{m.product}", erp_product_code=m.erp_product_code,
                                         update_time=_ts(m.update_time))


def customer_of(name: str, field: str) -> str:
    """Our "customers/{id}" for "customerMappings/{id}"."""
    return names.format("customers", names.parse(name, "customerMappings", field))


def customer_mapping_from_request(request: erp_bridge_pb2.UpsertCustomerMappingRequest,
                                  now: datetime) -> CustomerMapping:
    return CustomerMapping(customer=customer_of(request.mapping.name, "mapping.name"),
                           erp_party_code=request.mapping.erp_party_code, derived=False, update_time=now)


def customer_mapping_to_proto(m: CustomerMapping) -> erp_bridge_pb2.CustomerMapping:
    # Mappings the bridge derived for a company without a customer record have no resource of ours to name.
    name = "customerMappings/" + m.customer.removeprefix("customers/") if m.customer.startswith("customers/") \
        else m.customer
    return erp_bridge_pb2.CustomerMapping(name=name, erp_party_code=m.erp_party_code, derived=m.derived,
                                          update_time=_ts(m.update_time))


def order_ids(names_: list[str]) -> list[str]:
    return [names.parse(n, "erpOrders", f"names[{i}]") for i, n in enumerate(names_)]


department_from_event = org_events.department_from_event
