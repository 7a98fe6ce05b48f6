"""erp_bridge's domain as protos, outbound: the events the outbox publishes (``event_to_proto``, the encoder
bootstrap gives the unit of work) and the API's answers. Inbound mapping is ``erp_bridge.entrypoints.inbound``."""

from __future__ import annotations

from google.protobuf.message import Message

from erp_bridge.domain import model
from erp_bridge.domain.model import CustomerMapping, Job, ProductMapping
from shangji.erp_bridge.v1 import erp_bridge_pb2, events_pb2
from shangji_kit import names
from shangji_kit.timestamps import from_datetime as _ts

STATES = {model.PENDING: erp_bridge_pb2.Order.PENDING, model.CONFIRMED: erp_bridge_pb2.Order.CONFIRMED,
          model.DEAD_LETTER: erp_bridge_pb2.Order.DEAD_LETTER}


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
        source=job.source, state=STATES[job.state], attempts=job.attempts,
        next_attempt_time=_ts(job.next_attempt_time), erp_order_number=job.erp_order_number,
        erp_state=job.erp_state, last_error=job.last_error, create_time=_ts(job.create_time),
        update_time=_ts(job.update_time))


def product_mapping_to_proto(m: ProductMapping) -> erp_bridge_pb2.ProductMapping:
    return erp_bridge_pb2.ProductMapping(name=f"productMappings/{m.product}", erp_product_code=m.erp_product_code,
                                         update_time=_ts(m.update_time))


def customer_mapping_to_proto(m: CustomerMapping) -> erp_bridge_pb2.CustomerMapping:
    # Mappings the bridge derived for a company without a customer record have no resource of ours to name.
    name = "customerMappings/" + m.customer.removeprefix("customers/") if m.customer.startswith("customers/") \
        else m.customer
    return erp_bridge_pb2.CustomerMapping(name=name, erp_party_code=m.erp_party_code, derived=m.derived,
                                          update_time=_ts(m.update_time))
