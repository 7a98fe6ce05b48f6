"""Samples use cases: a command in, state and events out, one transaction each."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from samples.domain import approval, model
from shangji_kit import paging, visibility
from shangji_kit.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from shangji_kit.inbox import Delivery

if TYPE_CHECKING:  # the unit of work imports protomap, which builds this module's commands
    from samples.service_layer.unit_of_work import SamplesUnitOfWork


def _user_id(caller_id: str) -> str | None:
    """The caller as a users.id, or None when the token's subject is not one."""
    try:
        return str(uuid.UUID(caller_id))
    except (ValueError, TypeError):
        return None


def _viewer(uow: SamplesUnitOfWork, caller_id: str) -> visibility.Viewer | None:
    user_id = _user_id(caller_id)
    return uow.org.viewer(user_id) if user_id else None


def _require_admin(uow: SamplesUnitOfWork, caller_id: str, what: str) -> None:
    viewer = _viewer(uow, caller_id)
    if viewer is None or not viewer.sees_everything:
        raise PermissionDenied(f"only sales_ops and admin manage {what}", reason="NOT_A_SAMPLES_ADMIN")


# --- the catalogue ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProductInput:
    code: str
    display_name: str
    unit_cost: str
    currency: str
    active: bool


PRODUCT_PATHS = ("display_name", "unit_cost", "currency", "active")


def _product_fields(p: ProductInput, paths: tuple[str, ...]) -> dict:
    v: list[FieldViolation] = []
    out: dict = {}
    for path in paths:
        try:
            if path == "display_name":
                if not p.display_name.strip() or len(p.display_name) > model.SHORT_LIMIT:
                    raise InvalidArgument.field("product.display_name",
                                                f"required, at most {model.SHORT_LIMIT} characters")
                out[path] = p.display_name.strip()
            elif path == "unit_cost":
                out[path] = approval.parse_decimal(p.unit_cost, "product.unit_cost")
            elif path == "currency":
                out[path] = approval.parse_currency(p.currency, "product.currency")
            elif path == "active":
                out[path] = p.active
        except InvalidArgument as exc:
            v += exc.violations
    if v:
        raise InvalidArgument(v)
    return out


def create_product(p: ProductInput, caller_id: str, uow: SamplesUnitOfWork) -> model.Product:
    code = model.validate_product_code(p.code, "product.code")
    fields = _product_fields(p, PRODUCT_PATHS)
    now = datetime.now(UTC)
    product = model.Product(code=code, create_time=now, update_time=now, **fields)
    with uow:
        _require_admin(uow, caller_id, "the product catalogue")
        if not uow.products.add(product):
            raise AlreadyExists(f"products/{code} exists", metadata={"resource": f"products/{code}"})
        uow.commit()
    return product


def update_product(p: ProductInput, mask: tuple[str, ...], caller_id: str, uow: SamplesUnitOfWork) -> model.Product:
    if not mask or any(path not in PRODUCT_PATHS for path in mask):
        raise InvalidArgument.field("update_mask", f"required; paths among {', '.join(PRODUCT_PATHS)}")
    code = model.validate_product_code(p.code, "product.name")
    fields = _product_fields(p, mask)
    with uow:
        _require_admin(uow, caller_id, "the product catalogue")
        current = uow.products.get(code, for_update=True)
        if current is None:
            raise NotFound(f"products/{code}")
        changed = model.Product(**{**current.__dict__, **fields, "update_time": datetime.now(UTC)})
        uow.products.update(changed)
        uow.commit()
    return changed


@dataclass(frozen=True)
class ProductPage:
    products: list[model.Product]
    next_page_token: str


def list_products(page_size: int, page_token: str, show_inactive: bool, uow: SamplesUnitOfWork) -> ProductPage:
    limit = paging.page_size(page_size)
    after = paging.decode_key_token(page_token)
    with uow:
        rows = uow.products.list(limit + 1, after, show_inactive)
    page = rows[:limit]
    return ProductPage(page, paging.encode_key_token(page[-1].code) if len(rows) > limit else "")


# --- the approval policy ---------------------------------------------------------------------------

def get_policy(uow: SamplesUnitOfWork) -> tuple[approval.Policy, datetime]:
    with uow:
        return uow.policy.get()


def replace_policy(tiers: list[approval.TierInput], currency: str, uow: SamplesUnitOfWork,
                   caller_id: str | None = None) -> tuple[approval.Policy, datetime]:
    """Replace the tiers (API: sales_ops/admin; the CLI passes no caller). Requests in flight keep their steps."""
    policy = approval.validate_policy(tiers, currency)
    now = datetime.now(UTC)
    with uow:
        if caller_id is not None:
            _require_admin(uow, caller_id, "the approval policy")
        uow.policy.replace(policy, now)
        uow.commit()
    return policy, now


# --- creating a request ----------------------------------------------------------------------------

@dataclass(frozen=True)
class OpportunityFacts:
    """What a request copies from its opportunity, as the opportunities service told the caller."""

    customer_company: str
    customer: str
    stage_category: str


# Looks an opportunity up with the caller's own credentials: NotFound when they may not see it,
# Unavailable when the opportunities service does not answer.
OpportunityLookup = Callable[[str], OpportunityFacts]


def create_sample_request(cmd: model.RequestInput, request_id: str, caller_id: str, lookup: OpportunityLookup,
                          uow: SamplesUnitOfWork) -> model.SampleRequest:
    """A request waiting for its first approver; a retry with the same request_id returns the first result.
    Nothing is written on any error."""
    user_id = _user_id(caller_id)
    if user_id is None:
        raise PermissionDenied("only users (a users/{id} token subject) request samples", reason="NOT_A_USER")
    now = datetime.now(UTC)
    wanted_by = model.validate_input(cmd, now.date())
    with uow:
        if request_id:
            earlier = _earlier(uow, request_id, user_id)
            if earlier is not None:
                return earlier
        catalogue = uow.products.get_many({ln.product.strip() for ln in cmd.lines})
    lines, cost, currency, total = model.price_lines(cmd, catalogue)
    # Outside any transaction: a slow opportunities front must not hold a database connection.
    opportunity = lookup(cmd.opportunity_id)
    if opportunity.stage_category == "lost":
        name = f"opportunities/{cmd.opportunity_id}"
        raise FailedPrecondition(f"{name} is lost; no samples for it", reason="OPPORTUNITY_LOST",
                                 metadata={"opportunity": name})
    with uow:
        department_id = uow.org.department_of(user_id)
        if not department_id:
            raise FailedPrecondition("you belong to no department, so there is no cost centre to charge",
                                     reason="NO_COST_CENTRE")
        policy, _ = uow.policy.get()
        tiers = approval.tiers_needed(policy, total, cost, currency)
        approvers = approval.resolve_approvers(tiers, uow.org.chain(department_id), user_id)
        request = model.submit(
            id=str(uuid.uuid4()), cmd=cmd, wanted_by=wanted_by, lines=lines, estimated_cost=cost, currency=currency,
            total_quantity=total, requester_id=user_id, cost_centre_id=department_id,
            customer_company=opportunity.customer_company, customer=opportunity.customer,
            approvers=[(t.name, a) for t, a in approvers], now=now)
        if not uow.requests.add(request, request_id or None):
            uow.rollback()
            earlier = _earlier(uow, request_id, user_id)
            if earlier is None:  # the winner belongs to someone else
                raise AlreadyExists("request_id is taken", metadata={"request_id": request_id})
            return earlier
        uow.publish(request.events)
        uow.commit()
    return request


def _earlier(uow: SamplesUnitOfWork, request_id: str, user_id: str) -> model.SampleRequest | None:
    found = uow.requests.id_for_request_id(request_id)
    if found is None:
        return None
    earlier = uow.requests.get(found)
    if earlier.requester_id != user_id:
        raise AlreadyExists("request_id was used by another caller", metadata={"request_id": request_id})
    return earlier


# --- reading ---------------------------------------------------------------------------------------

def _visible(uow: SamplesUnitOfWork, request_id: str, caller_id: str, *, for_update: bool = False
             ) -> tuple[model.SampleRequest, visibility.Viewer]:
    viewer = _viewer(uow, caller_id)
    request = uow.requests.get_visible(request_id, viewer, for_update=for_update) if viewer else None
    if request is None:
        raise NotFound(f"sampleRequests/{request_id}")
    return request, viewer


def get_sample_request(request_id: str, caller_id: str, uow: SamplesUnitOfWork) -> model.SampleRequest:
    """NOT_FOUND alike for a missing request and for one the caller may not see."""
    with uow:
        return _visible(uow, request_id, caller_id)[0]


@dataclass(frozen=True)
class RequestPage:
    requests: list[model.SampleRequest]
    next_page_token: str


def list_sample_requests(caller_id: str, page_size: int, page_token: str, waiting_for_me: bool,
                         opportunity_id: str | None, uow: SamplesUnitOfWork) -> RequestPage:
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    with uow:
        viewer = _viewer(uow, caller_id)
        if viewer is None:
            return RequestPage([], "")
        rows = uow.requests.list_visible(viewer, limit + 1, after, waiting_for_me=waiting_for_me,
                                         opportunity_id=opportunity_id)
    page = rows[:limit]
    return RequestPage(page, paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else "")


# --- deciding, withdrawing, shipping ---------------------------------------------------------------

def _change(request_id: str, etag: str, caller_id: str, uow: SamplesUnitOfWork,
            act: Callable[[model.SampleRequest, visibility.Viewer, datetime], None]) -> model.SampleRequest:
    now = datetime.now(UTC)
    with uow:
        request, viewer = _visible(uow, request_id, caller_id, for_update=True)
        request.check_etag(etag)
        version = request.version
        act(request, viewer, now)
        if not uow.requests.update(request, version):  # the row lock makes this a guard, not a race
            raise Aborted(f"{request.name} changed concurrently; re-read it", reason="CONCURRENT_UPDATE")
        uow.publish(request.events)
        uow.commit()
    return request


def approve(request_id: str, comment: str, etag: str, caller_id: str, uow: SamplesUnitOfWork) -> model.SampleRequest:
    return _change(request_id, etag, caller_id, uow,
                   lambda r, v, now: r.approve(v.user_id, comment.strip(), now))


def reject(request_id: str, comment: str, etag: str, caller_id: str, uow: SamplesUnitOfWork) -> model.SampleRequest:
    return _change(request_id, etag, caller_id, uow, lambda r, v, now: r.reject(v.user_id, comment, now))


def withdraw(request_id: str, reason: str, etag: str, caller_id: str, uow: SamplesUnitOfWork) -> model.SampleRequest:
    return _change(request_id, etag, caller_id, uow, lambda r, v, now: r.withdraw(v.user_id, reason, now))


def _require_shipper(request: model.SampleRequest, viewer: visibility.Viewer) -> None:
    if viewer.user_id != request.requester_id and not viewer.sees_everything:
        raise PermissionDenied(f"only the requester, sales_ops or admin record shipping of {request.name}",
                               reason="NOT_THE_REQUESTER", metadata={"resource": request.name})


def record_shipment(request_id: str, courier: str, tracking_number: str, ship_time: datetime | None,
                    photos: list[model.Attachment], etag: str, caller_id: str,
                    uow: SamplesUnitOfWork) -> model.SampleRequest:
    def act(r: model.SampleRequest, v: visibility.Viewer, now: datetime) -> None:
        _require_shipper(r, v)
        r.ship(courier, tracking_number, ship_time or now, photos, now)

    return _change(request_id, etag, caller_id, uow, act)


def record_delivery(request_id: str, deliver_time: datetime | None, evidence: list[model.Attachment], etag: str,
                    caller_id: str, uow: SamplesUnitOfWork) -> model.SampleRequest:
    def act(r: model.SampleRequest, v: visibility.Viewer, now: datetime) -> None:
        _require_shipper(r, v)
        r.deliver(deliver_time or now, evidence, now)

    return _change(request_id, etag, caller_id, uow, act)


# --- feedback --------------------------------------------------------------------------------------

def _active_assignee(uow: SamplesUnitOfWork, assignee: str | None, field_name: str) -> str:
    if not assignee or not uow.org.is_active(assignee):
        raise InvalidArgument.field(field_name, "must be an active user (users/{id})")
    return assignee


def raise_feedback(request_id: str, summary: str, detail: str, assignee_id: str | None, caller_id: str,
                   uow: SamplesUnitOfWork) -> model.Feedback:
    now = datetime.now(UTC)
    with uow:
        request, viewer = _visible(uow, request_id, caller_id, for_update=True)
        assignee = _active_assignee(uow, assignee_id, "feedback.assignee")
        fb = model.raise_feedback(id=str(uuid.uuid4()), request=request, summary=summary, detail=detail,
                                  assignee_id=assignee, raised_by=viewer.user_id, now=now)
        uow.feedback.add(fb)
        uow.publish([model.FeedbackRaised(request, fb)])
        uow.commit()
    return fb


def _editable_feedback(uow: SamplesUnitOfWork, request_id: str, feedback_id: str, etag: str, caller_id: str
                       ) -> tuple[model.SampleRequest, model.Feedback]:
    request, viewer = _visible(uow, request_id, caller_id)
    fb = uow.feedback.get(request_id, feedback_id)
    if fb is None:
        raise NotFound(f"sampleRequests/{request_id}/feedback/{feedback_id}")
    if viewer.user_id not in (request.requester_id, fb.assignee_id, fb.raised_by) and not viewer.sees_everything:
        raise PermissionDenied(f"only the requester, the assignee, who raised it, sales_ops or admin change {fb.name}",
                               reason="NOT_A_FEEDBACK_EDITOR", metadata={"resource": fb.name})
    fb.check_etag(etag)
    return request, fb


FEEDBACK_PATHS = ("summary", "detail", "assignee")


def update_feedback(request_id: str, feedback_id: str, mask: tuple[str, ...], summary: str, detail: str,
                    assignee_id: str | None, etag: str, caller_id: str, uow: SamplesUnitOfWork) -> model.Feedback:
    if not mask or any(p not in FEEDBACK_PATHS for p in mask):
        raise InvalidArgument.field("update_mask", f"required; paths among {', '.join(FEEDBACK_PATHS)}")
    now = datetime.now(UTC)
    with uow:
        request, fb = _editable_feedback(uow, request_id, feedback_id, etag, caller_id)
        assignee = _active_assignee(uow, assignee_id, "feedback.assignee") if "assignee" in mask else None
        version = fb.version
        fb.update(summary=summary if "summary" in mask else None, detail=detail if "detail" in mask else None,
                  assignee_id=assignee, now=now)
        if not uow.feedback.update(fb, version):
            raise Aborted(f"{fb.name} changed concurrently; re-read it", reason="CONCURRENT_UPDATE")
        uow.publish([model.FeedbackUpdated(request, fb)])
        uow.commit()
    return fb


def close_feedback(request_id: str, feedback_id: str, resolution: str, etag: str, caller_id: str,
                   uow: SamplesUnitOfWork) -> model.Feedback:
    now = datetime.now(UTC)
    with uow:
        request, fb = _editable_feedback(uow, request_id, feedback_id, etag, caller_id)
        version = fb.version
        fb.close(resolution, now)
        if not uow.feedback.update(fb, version):
            raise Aborted(f"{fb.name} changed concurrently; re-read it", reason="CONCURRENT_UPDATE")
        uow.publish([model.FeedbackClosed(request, fb)])
        uow.commit()
    return fb


@dataclass(frozen=True)
class FeedbackPage:
    feedback: list[model.Feedback]
    next_page_token: str


def list_feedback(request_id: str, page_size: int, page_token: str, caller_id: str,
                  uow: SamplesUnitOfWork) -> FeedbackPage:
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    with uow:
        _visible(uow, request_id, caller_id)
        rows = uow.feedback.list(request_id, limit + 1, after)
    page = rows[:limit]
    return FeedbackPage(page, paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else "")


# --- consumed events -------------------------------------------------------------------------------

def _consumer(method: str) -> str:
    return f"samples.{method}"


USER_CREATED_CONSUMER = _consumer("on_user_created")
USER_UPDATED_CONSUMER = _consumer("on_user_updated")
USER_DEACTIVATED_CONSUMER = _consumer("on_user_deactivated")
DEPARTMENT_CHANGED_CONSUMER = _consumer("on_department_changed")
ORDER_CONFIRMED_CONSUMER = _consumer("on_erp_order_confirmed")
ORDER_DEAD_LETTERED_CONSUMER = _consumer("on_erp_order_dead_lettered")


def record_user(user: visibility.OrgUser, delivery: Delivery, uow: SamplesUnitOfWork) -> bool:
    """A user's state from teams. A user who is no longer active hands the approval steps waiting for them
    to the next approver up each requester's chain (reassign_steps_of), in the same transaction."""
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_user(user)
        # The projection's state, not the event's: an older event than the state held changes nothing.
        if uow.org.is_active(user.user_id) is False:
            _reassign_steps_of(user.user_id, uow, datetime.now(UTC))
        uow.commit()
        return True


def _reassign_steps_of(user_id: str, uow: SamplesUnitOfWork, now: datetime) -> list[model.SampleRequest]:
    """Each request waiting for ``user_id`` goes to a replacement approver of the step's tier role (the tier
    as the policy names it now; a tier since removed from it falls to the department head). A request with
    no possible replacement keeps waiting for the departed user: sales ops see it and can withdraw it."""
    policy, _ = uow.policy.get()
    roles = {t.name: t.approver_role for t in policy.tiers}
    moved = []
    for request_id in uow.requests.waiting_for(user_id):
        request = uow.requests.get(request_id, for_update=True)
        step = request.current_step if request else None
        if step is None or step.approver_id != user_id:
            continue
        chain = uow.org.chain(request.cost_centre_id)
        excluded = {s.approver_id for s in request.steps} | {user_id}
        new = approval.replacement_approver(roles.get(step.tier, approval.DEPARTMENT_HEAD), chain,
                                            request.requester_id, excluded)
        if new is None:
            continue
        expected = request.version
        request.reassign_current(new, now)
        uow.requests.update(request, expected)
        uow.publish(request.events)
        moved.append(request)
    return moved


def record_department(department: visibility.OrgDepartment, delivery: Delivery, uow: SamplesUnitOfWork) -> bool:
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_department(department)
        uow.commit()
        return True


@dataclass(frozen=True)
class ErpOrderOutcome:
    """ErpOrderConfirmed (order_number set) or ErpOrderDeadLettered (error set) for one of our requests."""

    request_id: str | None  # None: not a sample request (a won deal's order): not ours to record
    order_number: str = ""
    error: str = ""
    time: datetime | None = None


def record_erp_order(outcome: ErpOrderOutcome, delivery: Delivery, uow: SamplesUnitOfWork) -> bool:
    """The ERP confirmed the free order (-> ORDERED, SampleOrderRecorded) or the bridge dead-lettered it (the error
    is kept on the request). False for a redelivery, another kind of order, or a request that already has one."""
    now = datetime.now(UTC)
    with uow:
        if not uow.claim(delivery):
            return False
        changed = False
        request = uow.requests.get(outcome.request_id, for_update=True) if outcome.request_id else None
        if request is not None:
            version = request.version
            if outcome.order_number:
                changed = request.record_order(outcome.order_number, now)
            else:
                changed = request.record_order_failure(outcome.error, outcome.time or now, now)
            if changed:
                uow.requests.update(request, version)
                uow.publish(request.events)
        uow.commit()
        return changed
