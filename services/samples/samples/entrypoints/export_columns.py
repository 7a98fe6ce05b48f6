"""The columns of the sample requests export (README, "Exports"): one row per line of a request, a readable header
and each cell, from the rows the service layer hands over (``service_layer.requests.export_sample_requests``).
Costs are shown as the API shows them, without trailing zeros (stored with four places)."""

from __future__ import annotations

from samples.service_layer.requests import RequestLine
from shangji_kit.export import Column
from shangji_kit.names import format_or_empty as name

REQUEST_COLUMNS: list[Column[RequestLine]] = [
    Column("Sample request", lambda r: r.request.name),
    Column("Opportunity", lambda r: name("opportunities", r.request.opportunity_id)),
    Column("Company", lambda r: r.request.customer_company),
    Column("Customer", lambda r: r.request.customer),
    Column("Requester", lambda r: name("users", r.request.requester_id)),
    Column("Cost centre", lambda r: name("departments", r.request.cost_centre_id)),
    Column("Kind", lambda r: r.request.kind.upper()),
    Column("State", lambda r: r.request.state.upper()),
    Column("Purpose", lambda r: r.request.purpose),
    Column("Recipient", lambda r: r.request.recipient_name),
    Column("Recipient phone", lambda r: r.request.recipient_phone),
    Column("Address", lambda r: r.request.address),
    Column("Wanted by", lambda r: r.request.wanted_by_date),
    Column("Product", lambda r: r.line.product if r.line else ""),
    Column("Quantity", lambda r: r.line.quantity if r.line else None),
    Column("Unit cost", lambda r: r.line.unit_cost.normalize() if r.line else None),
    Column("Line description", lambda r: r.line.description if r.line else ""),
    Column("Estimated cost", lambda r: r.request.estimated_cost.normalize()),
    Column("Currency", lambda r: r.request.currency),
    Column("ERP order", lambda r: r.request.erp_order_number),
    Column("Courier", lambda r: r.request.shipment.courier if r.request.shipment else ""),
    Column("Tracking number", lambda r: r.request.shipment.tracking_number if r.request.shipment else ""),
    Column("Shipped", lambda r: r.request.shipment.ship_time if r.request.shipment else None),
    Column("Delivered", lambda r: r.request.shipment.deliver_time if r.request.shipment else None),
    Column("Created", lambda r: r.request.create_time),
    Column("Updated", lambda r: r.request.update_time),
]
