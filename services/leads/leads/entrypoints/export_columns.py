"""The columns of the leads and customers exports (README, "Exports"): a readable header and each cell, from the
rows the service layer hands over (``service_layer.exports``)."""

from __future__ import annotations

from leads.domain.model import Lead
from leads.service_layer.exports import CustomerContact
from shangji_kit.export import Column
from shangji_kit.names import format_or_empty as name

LEAD_COLUMNS: list[Column[Lead]] = [
    Column("Lead", lambda r: r.name),
    Column("Company", lambda r: r.company),
    Column("Contact", lambda r: r.contact_name),
    Column("Contact title", lambda r: r.contact_title),
    Column("Phone", lambda r: r.phone),
    Column("Email", lambda r: r.email),
    Column("Region", lambda r: r.region),
    Column("Source", lambda r: r.source),
    Column("Industry", lambda r: r.industry),
    Column("Company size", lambda r: r.company_size),
    Column("Owner", lambda r: name("users", r.owner_id)),
    Column("State", lambda r: r.state),
    Column("Qualification", lambda r: r.qualification),
    Column("Score", lambda r: r.score),
    Column("Flags", lambda r: ", ".join(r.flags)),
    Column("Campaign", lambda r: name("campaigns", r.campaign_id)),
    Column("Customer", lambda r: name("customers", r.customer_id)),
    Column("Duplicate of", lambda r: name("leads", r.duplicate_of)),
    Column("Notes", lambda r: r.notes),
    Column("Created", lambda r: r.create_time),
    Column("Updated", lambda r: r.update_time),
    Column("Held since", lambda r: r.hold_time),
    Column("Last follow-up", lambda r: r.last_follow_up_time),
    Column("Converted", lambda r: r.convert_time),
]

CUSTOMER_COLUMNS: list[Column[CustomerContact]] = [
    Column("Customer", lambda r: r.view.customer.name),
    Column("Company", lambda r: r.view.customer.display_name),
    Column("Region", lambda r: r.view.customer.region),
    Column("Industry", lambda r: r.view.customer.industry),
    Column("Size", lambda r: r.view.customer.size),
    Column("Grade", lambda r: r.view.customer.grade),
    Column("Owner", lambda r: name("users", r.view.customer.owner_id)),
    Column("Created", lambda r: r.view.customer.create_time),
    Column("Contact", lambda r: r.contact.name if r.contact else ""),
    Column("Contact name", lambda r: r.contact.display_name if r.contact else ""),
    Column("Contact title", lambda r: r.contact.title if r.contact else ""),
    Column("Phone", lambda r: r.contact.phone if r.contact else ""),
    Column("Email", lambda r: r.contact.email if r.contact else ""),
    Column("Buying role", lambda r: r.contact.buying_role if r.contact else ""),
    Column("Attitude", lambda r: r.contact.attitude if r.contact else ""),
    Column("Satisfaction", lambda r: r.contact.satisfaction or None if r.contact else None),
    Column("From lead", lambda r: name("leads", r.contact.lead_id) if r.contact else ""),
]
