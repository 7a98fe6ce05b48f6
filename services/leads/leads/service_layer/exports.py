"""Exports of the leads and customers lists (README, "Exports"): what ListLeads and ListCustomers would list for
the same filter and order_by, every page, read in keyset batches as the file is written (``shangji_kit.export``).

The filter and order are checked, and the rows counted, before anything is streamed; each batch is then read
in a transaction of its own through the List's own page read, so visibility is the List's, in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from leads.domain import model
from leads.domain.customers import Contact
from leads.service_layer.capture import lead_list_query, leads_page
from leads.service_layer.customers import CustomerView, customer_list_query, customers_page
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller
from shangji_kit.export import Export, all_pages


@dataclass(frozen=True)
class CustomerContact:
    """One row of a customers export: a customer and one of its contacts (None for a customer without)."""

    view: CustomerView
    contact: Contact | None


def export_leads(caller_id: str, uow: LeadsUnitOfWork, in_pool: bool = False, filter_text: str = "",
                 order_by: str = "") -> Export[model.Lead]:
    query = lead_list_query(filter_text, order_by)
    caller_id = caller.user_id(caller_id)
    with uow:
        viewer = uow.org.viewer(caller_id)
        total = uow.leads.count_visible(viewer, query, in_pool)

    def read(batch):
        with uow:
            return leads_page(uow, caller_id, viewer, batch, in_pool)

    return Export(total, all_pages(query, read))


def export_customers(caller_id: str, uow: LeadsUnitOfWork, filter_text: str = "", order_by: str = ""
                     ) -> Export[CustomerContact]:
    """One row per contact of each customer, in the chain's order; one row for a customer without contacts."""
    query = customer_list_query(filter_text, order_by)
    caller_id = caller.user_id(caller_id)
    with uow:
        viewer = uow.org.viewer(caller_id)
        total = uow.customers.count_contact_rows(viewer, query)

    def read(batch):
        with uow:
            return customers_page(uow, viewer, batch)

    def rows() -> Iterator[CustomerContact]:
        for view in all_pages(query, read):
            for contact in view.chain or (None,):
                yield CustomerContact(view, contact)

    return Export(total, rows())
