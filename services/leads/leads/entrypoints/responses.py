"""The service layer's answers as the API's responses."""

from __future__ import annotations

from leads.adapters.protomap import contact_to_proto, customer_to_proto, lead_to_proto
from leads.domain.timeline import Timeline
from leads.service_layer.capture import Captured, LeadPage
from leads.service_layer.customers import CustomerView, Page
from shangji.leads.v1 import leads_pb2
from shangji_kit import log
from shangji_kit.rpc.interceptor import CORRELATION_HEADER
from shangji_kit.timestamps import from_datetime


def captured_to_proto(captured: Captured) -> leads_pb2.Lead:
    """CreateLead's answer: the lead and what de-duplication did. Merged into a lead the caller may not see:
    only ``merged``; flagged as the duplicate of one: no ``duplicate_of`` (whom to ask goes in ``ask``)."""
    if captured.visible:
        message = lead_to_proto(captured.lead)
    else:
        message = leads_pb2.Lead()
    if captured.duplicate_hidden:
        message.duplicate_of = ""
    message.merged = captured.result == "MERGED"
    return message


def conflict_metadata(ask: str) -> tuple[tuple[str, str], ...]:
    """Trailing metadata of an answer that met a record the caller may not see: whom to ask about it, beside
    the correlation id the front put there (setting trailing metadata replaces it)."""
    return ((CORRELATION_HEADER, log.correlation_id.get() or ""), ("ask", ask))


def page_to_proto(page: LeadPage) -> leads_pb2.ListLeadsResponse:
    return leads_pb2.ListLeadsResponse(leads=[lead_to_proto(lead) for lead in page.leads],
                                       next_page_token=page.next_page_token)


def customer_view_to_proto(view: CustomerView) -> leads_pb2.Customer:
    return customer_to_proto(view.customer, view.chain)


def customers_page(page: Page) -> leads_pb2.ListCustomersResponse:
    return leads_pb2.ListCustomersResponse(customers=[customer_view_to_proto(v) for v in page.items],
                                           next_page_token=page.next_page_token)


def contacts_page(page: Page) -> leads_pb2.ListContactsResponse:
    return leads_pb2.ListContactsResponse(contacts=[contact_to_proto(c) for c in page.items],
                                          next_page_token=page.next_page_token)


def timeline_to_proto(t: Timeline) -> leads_pb2.CustomerTimeline:
    return leads_pb2.CustomerTimeline(items=[leads_pb2.TimelineItem(
        kind=i.kind, resource=i.resource, title=i.title, summary=i.summary, actor=i.actor,
        event_time=from_datetime(i.event_time), opportunity=i.opportunity, lead=i.lead, source=i.source)
        for i in t.items], next_page_token=t.next_page_token, unavailable_sources=t.unavailable_sources)
