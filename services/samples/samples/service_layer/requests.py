"""Asking for samples, and reading the requests one may see.

A request id is remembered per caller (``shangji_kit.request_ids``): a retry returns the first result,
concurrent retries make one request, and another caller reusing the id gets a request of their own.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from samples.domain import approval, model, request_list
from samples.service_layer import access
from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit import caller, company_time
from shangji_kit.clock import Clock, utc_now
from shangji_kit.errors import FailedPrecondition, InvalidArgument
from shangji_kit.export import Export, all_pages
from shangji_kit.list_query import ListQuery, list_query
from shangji_kit.request_ids import RequestKey

OPERATION = "CreateSampleRequest"

# Looks an opportunity up with the caller's own credentials: NotFound when they may not see it,
# Unavailable when the opportunities service does not answer.
OpportunityLookup = Callable[[str], model.OpportunityFacts]


def create_sample_request(cmd: model.RequestInput, request_id: str, caller_id: str, lookup: OpportunityLookup,
                          uow: SamplesUnitOfWork, clock: Clock = utc_now) -> model.SampleRequest:
    """A request waiting for its first approver; a retry with the same request_id returns the first result.
    INVALID_ARGUMENT names every bad field at once. Nothing is written on any error."""
    user_id = caller.user_id(caller_id)
    try:
        key = RequestKey.of(user_id, OPERATION, request_id)
    except InvalidArgument as exc:  # reported with every other bad field
        key, cmd = None, dataclasses.replace(cmd, read_errors=(*cmd.read_errors, *exc.violations))
    now = clock()
    with uow:
        earlier = uow.request_ids.find(key)
        if earlier is not None:
            return uow.requests.get(earlier)
        catalogue = uow.products.get_many({ln.product.strip() for ln in cmd.lines if ln.product.strip()})
    priced = model.check_request(cmd, company_time.today(now), catalogue)
    # Outside any transaction: a slow opportunities front must not hold a database connection.
    opportunity = lookup(cmd.opportunity_id)
    if opportunity.stage_category == "lost":
        name = f"opportunities/{cmd.opportunity_id}"
        raise FailedPrecondition(f"{name} is lost; no samples for it", reason="OPPORTUNITY_LOST",
                                 metadata={"opportunity": name})
    new_id = str(uuid.uuid4())
    with uow:
        earlier = uow.request_ids.claim(key, new_id)
        if earlier is not None:  # a concurrent retry won: its request, nothing of ours written
            return uow.requests.get(earlier)
        department_id = uow.org.department_of(user_id)
        if not department_id:
            raise FailedPrecondition("you belong to no department, so there is no cost centre to charge",
                                     reason="NO_COST_CENTRE")
        policy, _ = uow.policy.get()
        tiers = approval.tiers_needed(policy, priced.total_quantity, priced.estimated_cost, priced.currency)
        approvers = approval.resolve_approvers(tiers, uow.org.chain(department_id), user_id)
        request = model.submit(
            id=new_id, cmd=cmd, wanted_by=priced.wanted_by, lines=priced.lines,
            estimated_cost=priced.estimated_cost, currency=priced.currency, total_quantity=priced.total_quantity,
            requester_id=user_id, cost_centre_id=department_id, customer_company=opportunity.customer_company,
            customer=opportunity.customer, approvers=[(t.name, a) for t, a in approvers], now=now)
        uow.requests.add(request)
        uow.publish(request.events)
        uow.commit()
    return request


def get_sample_request(request_id: str, caller_id: str, uow: SamplesUnitOfWork) -> model.SampleRequest:
    """NOT_FOUND alike for a missing request and for one the caller may not see."""
    with uow:
        return access.visible(uow, request_id, caller_id)[0]


@dataclass(frozen=True)
class RequestPage:
    requests: list[model.SampleRequest]
    next_page_token: str


def list_sample_requests(caller_id: str, page_size: int, page_token: str, waiting_for_me: bool,
                         opportunity_id: str | None, uow: SamplesUnitOfWork, filter_text: str = "",
                         order_by: str = "", clock: Clock = utc_now) -> RequestPage:
    """The requests the caller may see (or that wait for them) that pass the filter (README, "Lists"), newest first
    unless ``order_by`` says otherwise, one page at a time."""
    query = request_list_query(filter_text, order_by, page_token, page_size)
    with uow:
        page = uow.requests.list_visible(access.viewer(uow, caller_id), query, company_time.today(clock()),
                                         waiting_for_me=waiting_for_me, opportunity_id=opportunity_id)
    return RequestPage(page.items, page.next_page_token)


def request_list_query(filter_text: str, order_by: str, page_token: str = "", page_size: int = 0) -> ListQuery:
    """INVALID_ARGUMENT on ``filter``, ``order_by`` or ``page_size`` before anything is read."""
    return list_query(filter_text, order_by, page_token, page_size, filter_fields=request_list.FILTER_FIELDS,
                      order_fields=request_list.ORDER_FIELDS, default_order=request_list.DEFAULT_ORDER)


@dataclass(frozen=True)
class RequestLine:
    """One row of a requests export: a request and one of its lines."""

    request: model.SampleRequest
    line: model.Line | None


def export_sample_requests(caller_id: str, opportunity_id: str | None, uow: SamplesUnitOfWork, filter_text: str = "",
                           order_by: str = "", clock: Clock = utc_now) -> Export[RequestLine]:
    """What ListSampleRequests lists for the same opportunity, filter and order (README, "Exports"), one row per
    line of a request, read in keyset batches as the file is written, each in a transaction of its own."""
    query = request_list_query(filter_text, order_by)
    today = company_time.today(clock())
    with uow:
        viewer = access.viewer(uow, caller_id)
        total = uow.requests.count_lines(viewer, query, today, opportunity_id=opportunity_id)

    def read(batch):
        with uow:
            return uow.requests.list_visible(viewer, batch, today, waiting_for_me=False, opportunity_id=opportunity_id)

    def rows() -> Iterator[RequestLine]:
        for request in all_pages(query, read):
            for line in request.lines or (None,):
                yield RequestLine(request, line)

    return Export(total, rows())
