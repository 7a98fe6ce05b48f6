"""A customer's sample requests as timeline items, for the customer 360 (leads' GetCustomerTimeline merges them):
only the requests the caller may see count, so a caller who may see none gets an empty timeline."""

from __future__ import annotations

from dataclasses import dataclass

from samples.domain import timeline
from samples.service_layer import access
from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit import paging, timeline_token
from shangji_kit.timeline_token import item_key


@dataclass(frozen=True)
class TimelinePage:
    items: list[timeline.TimelineItem]
    next_page_token: str


def _key(item: timeline.TimelineItem) -> str:
    return item_key(timeline.SOURCE, item.kind, item.resource)


def list_customer_timeline(customer_id: str, caller_id: str, page_size: int, page_token: str,
                           uow: SamplesUnitOfWork) -> TimelinePage:
    """Newest first, one page after ``page_token`` (the kit's timeline token); INVALID_ARGUMENT before any read."""
    limit = paging.page_size(page_size)
    after = timeline_token.decode(page_token)
    with uow:
        facts = uow.timeline.page(f"customers/{customer_id}", access.viewer(uow, caller_id), after, limit + 1)
    items = [timeline.item_of(f) for f in facts]
    shown = items[:limit]
    return TimelinePage(shown, timeline_token.next_token(shown, len(items) > limit, lambda i: i.event_time, _key))
