"""From the ERP's free order to the customer's hands: the order (or its failure) as the ERP bridge reports
it, then the shipment and the delivery as the requester (or sales ops) records them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from samples.domain import model
from samples.service_layer import access
from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit import visibility
from shangji_kit.clock import Clock, utc_now
from shangji_kit.errors import PermissionDenied
from shangji_kit.inbox import idempotent


def _require_shipper(request: model.SampleRequest, viewer: visibility.Viewer) -> None:
    if not request.follows_up(viewer.user_id) and not viewer.sees_everything:
        raise PermissionDenied(f"only the requester, the request's owner, sales_ops or admin record shipping of "
                               f"{request.name}",
                               reason="NOT_THE_REQUESTER", metadata={"resource": request.name})


def record_shipment(request_id: str, courier: str, tracking_number: str, ship_time: datetime | None,
                    photos: list[model.Attachment], etag: str, caller_id: str,
                    uow: SamplesUnitOfWork, clock: Clock = utc_now) -> model.SampleRequest:
    def act(r: model.SampleRequest, v: visibility.Viewer, now: datetime) -> None:
        _require_shipper(r, v)
        r.ship(courier, tracking_number, ship_time or now, photos, now)

    return access.change(request_id, etag, caller_id, uow, clock, act)


def record_delivery(request_id: str, deliver_time: datetime | None, evidence: list[model.Attachment], etag: str,
                    caller_id: str, uow: SamplesUnitOfWork, clock: Clock = utc_now) -> model.SampleRequest:
    def act(r: model.SampleRequest, v: visibility.Viewer, now: datetime) -> None:
        _require_shipper(r, v)
        r.deliver(deliver_time or now, evidence, now)

    return access.change(request_id, etag, caller_id, uow, clock, act)


@dataclass(frozen=True)
class ErpOrderOutcome:
    """ErpOrderConfirmed (order_number set) or ErpOrderDeadLettered (error set) for one of our requests."""

    request_id: str | None  # None: not a sample request (a won deal's order): not ours to record
    order_number: str = ""
    error: str = ""
    time: datetime | None = None


def _record_erp_order(uow: SamplesUnitOfWork, outcome: ErpOrderOutcome, clock: Clock = utc_now) -> bool:
    now = clock()
    request = uow.requests.get(outcome.request_id, for_update=True) if outcome.request_id else None
    if request is None:
        return False
    version = request.version
    if outcome.order_number:
        changed = request.record_order(outcome.order_number, now, outcome.time)
    else:
        changed = request.record_order_failure(outcome.error, outcome.time or now, now)
    if changed:
        uow.requests.update(request, version)
        uow.publish(request.events)
    return changed


# The ERP confirmed the free order (-> ORDERED, SampleOrderRecorded) or the bridge dead-lettered it (the error
# is kept on the request). False for a redelivery, another kind of order, or a request that already has one.
record_erp_order_confirmed = idempotent(consumer="samples.on_erp_order_confirmed", skipped=False)(_record_erp_order)
record_erp_order_dead_lettered = idempotent(consumer="samples.on_erp_order_dead_lettered",
                                            skipped=False)(_record_erp_order)
