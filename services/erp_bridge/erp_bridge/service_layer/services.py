"""erp_bridge use cases: record an order request from an event, work it in the ERP exactly once, retry and
dead-letter, reconcile, and keep the mapping tables.

Working a job holds its row lock (``FOR UPDATE SKIP LOCKED``) for the whole create -> quote -> confirm
sequence, so two workers never work one reference; the sequence starts by looking the reference up in the
ERP, so a crash after the ERP's create (our transaction rolled back) resumes the existing order instead of
making a second one.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from erp_bridge.domain import model
from erp_bridge.domain.model import (
    Customer,
    CustomerMapping,
    ErpOrder,
    ErpRejected,
    ErpUnavailable,
    Job,
    Mismatch,
    OrderRequest,
    ProductMapping,
    RetryPolicy,
)
from erp_bridge.domain.ports import ErpPort
from erp_bridge.service_layer.unit_of_work import ErpBridgeUnitOfWork
from shangji_kit import log, paging, visibility
from shangji_kit.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.inbox import Delivery

SAMPLE_APPROVED_CONSUMER = "erp_bridge.on_sample_request_approved"
OPPORTUNITY_WON_CONSUMER = "erp_bridge.on_opportunity_won"
USER_CREATED_CONSUMER = "erp_bridge.on_user_created"
USER_UPDATED_CONSUMER = "erp_bridge.on_user_updated"
USER_DEACTIVATED_CONSUMER = "erp_bridge.on_user_deactivated"
MAX_CODE_LENGTH = 100

_log = log.get(__name__)


# --- from events to jobs -----------------------------------------------------------------------------

def record_order_request(request: OrderRequest, delivery: Delivery, now: datetime, uow: ErpBridgeUnitOfWork) -> bool:
    """One job per reference, recorded with the event's inbox claim. A request that can never become an order
    (a won deal without quote lines, ...) is dead-lettered at once, with its event. A later event for a
    dead-lettered reference replaces its request and makes it pending again; for a pending or confirmed one it
    changes nothing. True when there is a pending job to work."""
    with uow:
        if not uow.claim(delivery):
            return False
        job = Job(id=str(uuid.uuid4()), reference=request.reference, source_kind=request.source_kind,
                  source=request.source, request=request, next_attempt_time=now, create_time=now, update_time=now)
        problems = request.problems()
        if problems:
            job.failed("the order cannot be made: " + "; ".join(problems), now, RetryPolicy(), permanent=True)
            job.attempts = 0
        if not uow.jobs.add(job):
            revived = not problems and uow.jobs.revive(job)
            uow.commit()  # else a repeat of an event we have: the inbox claim is all it leaves
            return revived
        uow.publish(job.events)
        uow.commit()
        return job.state == model.PENDING


def work_job(reference: str, erp: ErpPort, policy: RetryPolicy, now: Callable[[], datetime],
             uow: ErpBridgeUnitOfWork, *, after_create: Callable[[], None] | None = None) -> Job | None:
    """Work the pending job of ``reference`` if no other worker holds it; None when there was nothing to do."""
    with uow:
        job = uow.jobs.lock_pending(reference)
        if job is None:
            return None
        _work(job, erp, policy, now, uow, after_create)
        return job


def work_due(erp: ErpPort, policy: RetryPolicy, now: Callable[[], datetime],
             uow_factory: Callable[[], ErpBridgeUnitOfWork], *, limit: int = 100,
             after_create: Callable[[], None] | None = None) -> int:
    """The timer's round: due pending jobs, one transaction each, until none is due (or ``limit``)."""
    worked = 0
    while worked < limit:
        with uow_factory() as uow:
            job = uow.jobs.lock_next_due(now())
            if job is None:
                return worked
            _work(job, erp, policy, now, uow, after_create)
        worked += 1
    return worked


def _work(job: Job, erp: ErpPort, policy: RetryPolicy, now: Callable[[], datetime], uow: ErpBridgeUnitOfWork,
          after_create: Callable[[], None] | None) -> None:
    try:
        order = erp.find_order(job.reference)
        if order is None:
            order = _create(job, erp, now(), uow)
            if after_create is not None:
                after_create()
        job.erp_state = order.state
        while (step := model.next_step(order.state)) is not None:
            order = erp.quote(order) if step == "quote" else erp.confirm(order)
        job.confirmed(order, now())
    except ErpRejected as exc:
        job.failed(str(exc), now(), policy, permanent=True)
    except ErpUnavailable as exc:
        job.failed(str(exc), now(), policy)
    except Exception as exc:  # a bug or a surprise answer: still backed off and bounded by the budget
        _log.exception("working an ERP order failed unexpectedly", extra=log.fields(reference=job.reference))
        job.failed(f"unexpected error: {type(exc).__name__}: {exc}", now(), policy)
    uow.jobs.save(job)
    uow.publish(job.events)
    uow.commit()


def _create(job: Job, erp: ErpPort, now: datetime, uow: ErpBridgeUnitOfWork) -> ErpOrder:
    request = job.request
    problems = request.problems()
    if problems:
        raise ErpRejected("the order cannot be made: " + "; ".join(problems))
    mappings = uow.mappings.products(sorted({line.product for line in request.lines}))
    unmapped = model.unmapped_products(request, mappings)
    if unmapped:
        raise ErpRejected(f"no ERP product is mapped for our product code(s) {', '.join(unmapped)}: add a product "
                          "mapping (UpsertProductMapping), then retry the dead letter")
    customer = _customer(request, now, uow)
    party = erp.upsert_customer(customer)
    lines = model.to_erp_lines(request, mappings)
    if request.free:
        return erp.create_free_order(job.reference, party, customer, lines, request.cost_centre, request.currency)
    return erp.create_sale_order(job.reference, party, customer, lines, request.currency)


def _customer(request: OrderRequest, now: datetime, uow: ErpBridgeUnitOfWork) -> Customer:
    mapping = uow.mappings.customer(request.customer_key)
    if mapping is None:
        mapping = CustomerMapping(request.customer_key, model.derived_party_code(request.customer_key), derived=True,
                                  update_time=now)
        uow.mappings.upsert_customer(mapping, keep_existing=True)
    # A party someone mapped by hand keeps the ERP's name; one the bridge made follows ours.
    name = request.customer_name if mapping.derived else ""
    return Customer(key=request.customer_key, name=name, party_code=mapping.erp_party_code,
                    recipient=request.recipient, phone=request.phone, address=request.address)


def retry_dead_letters(job_ids: list[str] | None, now: datetime, uow: ErpBridgeUnitOfWork) -> list[Job]:
    """Dead letters (all, or those named) back to pending with a fresh budget; the timer picks them up."""
    with uow:
        jobs = uow.jobs.lock_dead_letters(job_ids)
        for job in jobs:
            job.retry(now)
            uow.jobs.save(job)
        uow.commit()
        return jobs


# --- reconciliation -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReconcileLine:
    job: Job
    erp: ErpOrder | None
    mismatch: Mismatch | None


def reconcile(erp: ErpPort, uow: ErpBridgeUnitOfWork) -> list[ReconcileLine]:
    """Every order we asked for beside its state in the ERP, with any mismatch."""
    with uow:
        jobs = uow.jobs.all()
    lines = []
    for job in jobs:
        order = erp.find_order(job.reference)
        lines.append(ReconcileLine(job, order, model.reconcile(job, order)))
    return lines


# --- teams' users (who may call the API) -------------------------------------------------------------

def record_user(user: visibility.OrgUser, delivery: Delivery, uow: ErpBridgeUnitOfWork) -> bool:
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_user(user)
        uow.commit()
        return True


def _require_operator(user_id: str, uow: ErpBridgeUnitOfWork) -> None:
    if not uow.org.is_operator(user_id):
        raise PermissionDenied("only sales ops and admins manage ERP orders and mappings", reason="NOT_AN_OPERATOR")


# --- the API ------------------------------------------------------------------------------------------

def _check_code(field: str, value: str) -> list[FieldViolation]:
    if not value.strip():
        return [FieldViolation(field, "required")]
    if len(value) > MAX_CODE_LENGTH or value != value.strip():
        return [FieldViolation(field, f"at most {MAX_CODE_LENGTH} characters, no surrounding spaces")]
    return []


def upsert_product_mapping(mapping: ProductMapping, user_id: str, uow: ErpBridgeUnitOfWork) -> ProductMapping:
    violations = _check_code("mapping.name", mapping.product) + _check_code("mapping.erp_product_code",
                                                                          mapping.erp_product_code)
    if violations:
        raise InvalidArgument(violations)
    with uow:
        _require_operator(user_id, uow)
        uow.mappings.upsert_product(mapping)
        uow.commit()
    return mapping


def delete_product_mapping(product: str, user_id: str, uow: ErpBridgeUnitOfWork) -> None:
    with uow:
        _require_operator(user_id, uow)
        if not uow.mappings.delete_product(product):
            raise NotFound(f"productMappings/{product}")
        uow.commit()


def upsert_customer_mapping(mapping: CustomerMapping, user_id: str, uow: ErpBridgeUnitOfWork) -> CustomerMapping:
    violations = _check_code("mapping.erp_party_code", mapping.erp_party_code)
    if violations:
        raise InvalidArgument(violations)
    with uow:
        _require_operator(user_id, uow)
        uow.mappings.upsert_customer(mapping)
        uow.commit()
    return mapping


def delete_customer_mapping(customer: str, user_id: str, uow: ErpBridgeUnitOfWork) -> None:
    with uow:
        _require_operator(user_id, uow)
        if not uow.mappings.delete_customer(customer):
            raise NotFound("customerMappings/" + customer.removeprefix("customers/"))
        uow.commit()


@dataclass(frozen=True)
class Page:
    items: list
    next_page_token: str


def _key_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _key_after(token: str) -> str:
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidArgument.field("page_token", "not a page token returned by this API") from exc


def list_product_mappings(page_size: int, page_token: str, user_id: str, uow: ErpBridgeUnitOfWork) -> Page:
    size = paging.page_size(page_size)
    after = _key_after(page_token)
    with uow:
        _require_operator(user_id, uow)
        items = uow.mappings.product_page(size + 1, after)
    more = len(items) > size
    items = items[:size]
    return Page(items, _key_token(items[-1].product) if more else "")


def list_customer_mappings(page_size: int, page_token: str, user_id: str, uow: ErpBridgeUnitOfWork) -> Page:
    size = paging.page_size(page_size)
    after = _key_after(page_token)
    with uow:
        _require_operator(user_id, uow)
        items = uow.mappings.customer_page(size + 1, after)
    more = len(items) > size
    items = items[:size]
    return Page(items, _key_token(items[-1].customer) if more else "")


def get_order(job_id: str, user_id: str, uow: ErpBridgeUnitOfWork) -> Job:
    with uow:
        _require_operator(user_id, uow)
        job = uow.jobs.get(job_id)
    if job is None:
        raise NotFound(f"erpOrders/{job_id}")
    return job


def list_orders(page_size: int, page_token: str, state: str | None, user_id: str, uow: ErpBridgeUnitOfWork) -> Page:
    size = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    with uow:
        _require_operator(user_id, uow)
        jobs = uow.jobs.page(size + 1, after, state)
    more = len(jobs) > size
    jobs = jobs[:size]
    return Page(jobs, paging.encode_token(jobs[-1].create_time, jobs[-1].id) if more else "")


def retry_dead_letters_for(job_ids: list[str] | None, user_id: str, now: datetime,
                           uow: ErpBridgeUnitOfWork) -> list[Job]:
    with uow:
        _require_operator(user_id, uow)
    return retry_dead_letters(job_ids, now, uow)
