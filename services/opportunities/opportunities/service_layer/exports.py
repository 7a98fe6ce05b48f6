"""Exports of the deals and tasks lists (README, "Exports"): what ListOpportunities and ListTasks would list for the
same filter and order_by, every page, read in keyset batches as the file is written (``shangji_kit.export``).

The filter and order are checked, and the rows counted, before anything is streamed; each batch is then read
in a transaction of its own, under the same visibility rule in SQL as the list.
"""

from __future__ import annotations

from opportunities.domain import model, task_list, work
from opportunities.service_layer.deals import Clock, shown_all, utc_now, visible_deal
from opportunities.service_layer.lifecycle import deal_list_query
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import company_time
from shangji_kit.caller import as_user_id
from shangji_kit.export import Export, all_pages
from shangji_kit.list_query import list_query
from shangji_kit.paging import Page


def export_opportunities(caller_id: str, uow: OpportunitiesUnitOfWork, filter_text: str = "", order_by: str = "",
                         *, clock: Clock = utc_now) -> Export[model.Opportunity]:
    query = deal_list_query(filter_text, order_by, "", 0)
    user_id = as_user_id(caller_id)
    if user_id is None:
        return Export(0, iter(()))
    today = company_time.today(clock())
    with uow:
        viewer = uow.org.viewer(user_id)
        total = uow.deals.count_visible(viewer, query, today)

    def read(batch) -> Page[model.Opportunity]:
        with uow:
            page = uow.deals.list_visible(viewer, batch, today)
            return Page(shown_all(uow, viewer, page.items), page.next_page_token)

    return Export(total, all_pages(query, read))


def export_tasks(opportunity_id: str | None, caller_id: str, uow: OpportunitiesUnitOfWork, filter_text: str = "",
                 order_by: str = "", *, clock: Clock = utc_now) -> Export[work.Task]:
    """The tasks of one deal (NOT_FOUND unless the caller may see it), or of every deal they may see (None)."""
    query = list_query(filter_text, order_by, "", 0, filter_fields=task_list.FILTER_FIELDS,
                       order_fields=task_list.ORDER_FIELDS, default_order=task_list.DEFAULT_ORDER)
    user_id = as_user_id(caller_id)
    if user_id is None and opportunity_id is None:
        return Export(0, iter(()))
    today = company_time.today(clock())
    with uow:
        if opportunity_id is None:
            viewer = uow.org.viewer(user_id)
        else:
            _, viewer = visible_deal(uow, opportunity_id, caller_id)
        total = uow.tasks.count_visible(viewer, opportunity_id, query, today)

    def read(batch) -> Page[work.Task]:
        with uow:
            return uow.tasks.list_visible(viewer, opportunity_id, batch, today)

    return Export(total, all_pages(query, read))
