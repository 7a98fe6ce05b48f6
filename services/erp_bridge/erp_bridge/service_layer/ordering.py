"""From an event to an ERP order, exactly once: record the order request as a job, work it in the ERP, retry and
dead-letter.

Working a job holds its row lock (``FOR UPDATE SKIP LOCKED``) for the whole create -> quote -> confirm
sequence, so two workers never work one reference; the sequence starts by looking the reference up in the
ERP, so a crash after the ERP's create (our transaction rolled back) resumes the existing order instead of
making a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from erp_bridge.domain import model
from erp_bridge.domain.model import (
    Customer,
    CustomerMapping,
    ErpOrder,
    ErpRejected,
    ErpUnavailable,
    Job,
    OrderRequest,
    RetryPolicy,
)
from erp_bridge.domain.ports import ErpPort
from erp_bridge.service_layer.unit_of_work import ErpBridgeUnitOfWork
from shangji_kit import log
from shangji_kit.clock import Clock, utc_now
from shangji_kit.inbox import idempotent

_log = log.get(__name__)


def _record(uow: ErpBridgeUnitOfWork, request: OrderRequest, clock: Clock = utc_now) -> bool:
    now = clock()
    job = Job(id=str(uuid.uuid4()), reference=request.reference, source_kind=request.source_kind,
              source=request.source, request=request, next_attempt_time=now, create_time=now, update_time=now)
    problems = request.problems()
    if problems:
        job.failed("the order cannot be made: " + "; ".join(problems), now, RetryPolicy(), permanent=True)
        job.attempts = 0
    if not uow.jobs.add(job):
        # A repeat of a reference we have: a dead letter takes the newer request; otherwise nothing changes.
        return not problems and uow.jobs.revive(job)
    uow.publish(job.events)
    return job.state == model.PENDING


# One job per reference, recorded with the event's inbox claim. A request that can never become an order (a won
# deal without quote lines, ...) is dead-lettered at once, with its event. A later event for a dead-lettered
# reference replaces its request and makes it pending again; for a pending or confirmed one it changes nothing.
# True when there is a pending job to work; False for a redelivery.
record_order_request = idempotent(skipped=False)(_record)
record_sample_approved = record_order_request.as_consumer("erp_bridge.on_sample_request_approved")
record_opportunity_won = record_order_request.as_consumer("erp_bridge.on_opportunity_won")


def work_job(reference: str, erp: ErpPort, policy: RetryPolicy, clock: Clock, uow: ErpBridgeUnitOfWork, *,
             after_create: Callable[[], None] | None = None) -> Job | None:
    """Work the pending job of ``reference`` if no other worker holds it; None when there was nothing to do."""
    with uow:
        job = uow.jobs.lock_pending(reference)
        if job is None:
            return None
        _work(job, erp, policy, clock, uow, after_create)
        return job


def work_due(erp: ErpPort, policy: RetryPolicy, clock: Clock, uow_factory: Callable[[], ErpBridgeUnitOfWork], *,
             limit: int = 100, after_create: Callable[[], None] | None = None) -> int:
    """The timer's round: due pending jobs, one transaction each, until none is due (or ``limit``)."""
    worked = 0
    while worked < limit:
        with uow_factory() as uow:
            job = uow.jobs.lock_next_due(clock())
            if job is None:
                return worked
            _work(job, erp, policy, clock, uow, after_create)
        worked += 1
    return worked


def _work(job: Job, erp: ErpPort, policy: RetryPolicy, clock: Clock, uow: ErpBridgeUnitOfWork,
          after_create: Callable[[], None] | None) -> None:
    try:
        order = erp.find_order(job.reference)
        if order is None:
            order = _create(job, erp, clock, uow)
            if after_create is not None:
                after_create()
        job.erp_state = order.state
        while (step := model.next_step(order.state)) is not None:
            order = erp.quote(order) if step == "quote" else erp.confirm(order)
        job.confirmed(order, clock())
    except ErpRejected as exc:
        job.failed(str(exc), clock(), policy, permanent=True)
    except ErpUnavailable as exc:
        job.failed(str(exc), clock(), policy)
    except Exception as exc:  # a bug or a surprise answer: still backed off and bounded by the budget
        _log.exception("working an ERP order failed unexpectedly", extra=log.fields(reference=job.reference))
        job.failed(f"unexpected error: {type(exc).__name__}: {exc}", clock(), policy)
    uow.jobs.save(job)
    uow.publish(job.events)
    uow.commit()


def _create(job: Job, erp: ErpPort, clock: Clock, uow: ErpBridgeUnitOfWork) -> ErpOrder:
    request = job.request
    problems = request.problems()
    if problems:
        raise ErpRejected("the order cannot be made: " + "; ".join(problems))
    mappings = uow.mappings.products(sorted({line.product for line in request.lines}))
    unmapped = model.unmapped_products(request, mappings)
    if unmapped:
        raise ErpRejected(f"no ERP product is mapped for our product code(s) {', '.join(unmapped)}: add a product "
                          "mapping (UpsertProductMapping), then retry the dead letter")
    customer = _customer(request, clock, uow)
    party = erp.upsert_customer(customer)
    lines = model.to_erp_lines(request, mappings)
    if request.free:
        return erp.create_free_order(job.reference, party, customer, lines, request.cost_centre, request.currency)
    return erp.create_sale_order(job.reference, party, customer, lines, request.currency)


def _customer(request: OrderRequest, clock: Clock, uow: ErpBridgeUnitOfWork) -> Customer:
    mapping = uow.mappings.customer(request.customer_key)
    if mapping is None:
        mapping = CustomerMapping(request.customer_key, model.derived_party_code(request.customer_key), derived=True,
                                  update_time=clock())
        uow.mappings.upsert_customer(mapping, keep_existing=True)
    # A party someone mapped by hand keeps the ERP's name; one the bridge made follows ours.
    name = request.customer_name if mapping.derived else ""
    return Customer(key=request.customer_key, name=name, party_code=mapping.erp_party_code,
                    recipient=request.recipient, phone=request.phone, address=request.address)
