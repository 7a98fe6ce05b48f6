"""A customer's sample requests as timeline items, for the customer 360 (leads' GetCustomerTimeline merges them):
only the requests the caller may see count, so a caller who may see none gets an empty timeline."""

from __future__ import annotations

from samples.domain import timeline
from samples.service_layer import access
from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit import paging, timeline_token


def list_customer_timeline(customer_id: str, caller_id: str, page_size: int, page_token: str,
                           uow: SamplesUnitOfWork) -> timeline_token.Page:
    """Newest first, one page after ``page_token`` (the kit's timeline token); INVALID_ARGUMENT before any read."""
    limit = paging.page_size(page_size)
    after = timeline_token.decode(page_token)
    with uow:
        facts = uow.timeline.page(f"customers/{customer_id}", access.viewer(uow, caller_id), after, limit + 1)
    return timeline_token.first_of([timeline.item_of(f) for f in facts], limit)
