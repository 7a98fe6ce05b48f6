"""A customer's deals as timeline items, for the customer 360 (leads' GetCustomerTimeline merges them): only the
deals the caller may open count, so a caller who may open none gets an empty timeline."""

from __future__ import annotations

from opportunities.domain import timeline
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import caller, paging, timeline_token


def list_customer_timeline(customer_id: str, caller_id: str, page_size: int, page_token: str,
                           uow: OpportunitiesUnitOfWork) -> timeline_token.Page:
    """Newest first, one page after ``page_token`` (the kit's timeline token); INVALID_ARGUMENT before any read."""
    limit = paging.page_size(page_size)
    after = timeline_token.decode(page_token)
    user_id = caller.user_id(caller_id)
    with uow:
        facts = uow.timeline.page(customer_id, uow.org.viewer(user_id), after, limit + 1)
    return timeline_token.first_of([timeline.item_of(f) for f in facts], limit)
