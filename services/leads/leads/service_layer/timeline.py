"""The customer 360 (GetCustomerTimeline): leads' own items merged with the other services' (``Sources``), newest
first. NOT_FOUND alike for a customer that does not exist and one the caller may not see; a source that does not
answer is named in ``unavailable_sources`` and the page is still right for the others."""

from __future__ import annotations

from typing import Protocol

from leads.domain import timeline
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, paging, timeline_token
from shangji_kit.errors import NotFound


class Sources(Protocol):
    def pages(self, customer_id: str, page_size: int, page_token: str
              ) -> tuple[list[timeline.SourcePage], list[str]]:
        """Each remote source's page after ``page_token``, and the sources that did not answer."""


def get_customer_timeline(customer_id: str, caller_id: str, page_size: int, page_token: str, uow: LeadsUnitOfWork,
                          sources: Sources) -> timeline.Timeline:
    limit = paging.page_size(page_size)
    after = timeline_token.decode(page_token)
    user_id = caller.user_id(caller_id)
    with uow:
        viewer = uow.org.viewer(user_id)
        if uow.customers.get(customer_id, viewer) is None:
            raise NotFound(f"customers/{customer_id}")
        facts = uow.timeline.page(customer_id, viewer, after, limit + 1)
    # The other services are asked after the transaction ends: no connection is held while they answer.
    own = [timeline.item_of(f) for f in facts]
    remote, unavailable = sources.pages(customer_id, limit, page_token)
    return timeline.merge([timeline.SourcePage(timeline.SOURCE, own[:limit], len(own) > limit), *remote], limit,
                          unavailable)
