"""Conversion: an open lead closes into a customer, its contact joins the decision chain, and
opportunities registers a deal from the LeadConverted event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from leads.domain import customers, dedupe, model, scoring
from leads.service_layer.conflicts import hide_unseen_originals
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, names
from shangji_kit.errors import NotFound, PermissionDenied


@dataclass(frozen=True)
class ConvertLead:
    lead_id: str
    etag: str = ""
    opportunity_title: str = ""
    # "customers/{id}" to join; empty: the same company's customer in the region, else a new one.
    customer: str = ""
    without_opportunity: bool = False
    # Convert below the qualification the settings require (a manager above the owner only).
    force: bool = False
    # The product lines the deal is registered for (collisions are per customer and product line).
    product_lines: tuple[str, ...] = ()


def convert_lead(cmd: ConvertLead, caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> model.Lead:
    """One transaction: the lead closes as converted into a customer (the one named, the same company's in
    the region, or a new one), its contact joins the customer's decision chain, and LeadConverted carries the
    customer and the chain (opportunities registers a deal unless ``without_opportunity``)."""
    caller_id = caller.user_id(caller_id)
    customer_id = names.parse(cmd.customer, "customers", "customer") if cmd.customer else None
    product_lines = model.conversion_product_lines(cmd.product_lines, cmd.without_opportunity)
    with uow:
        viewer = uow.org.viewer(caller_id)
        lead = uow.leads.get_visible(cmd.lead_id, viewer, for_update=True)
        if lead is None:
            raise NotFound(f"leads/{cmd.lead_id}")
        # Seeing a lead (sales ops, say) is not enough to convert it: its owner or a manager above them.
        manager = lead.owner_id is not None and lead.owner_id != caller_id and uow.org.manages(viewer, lead.owner_id)
        if lead.owner_id != caller_id and not manager:
            raise PermissionDenied(f"only the owner of {lead.name} or a manager above them may convert it",
                                   metadata={"resource": lead.name})
        lead.check_convertible(cmd.etag)
        settings = uow.pool_settings.scoring()
        scoring.check_conversion_gate(lead, settings, now, force=cmd.force, by_manager=manager)
        events: list = []
        created = False
        if customer_id is not None:
            customer = uow.customers.get(customer_id, viewer, for_update=True)
            if customer is None:
                raise NotFound(f"customers/{customer_id}")
        else:
            keys = (dedupe.company_key(lead.company), dedupe.region_key(lead.region))
            uow.customers.lock_key(*keys)
            customer = uow.customers.find_by_key(*keys)
            if customer is None:
                grades = tuple(g for g, _ in settings.customer_grades)
                customer = customers.new_customer(
                    id=str(uuid.uuid4()), owner_id=lead.owner_id, grades=grades, now=now, lead_id=lead.id,
                    values={"display_name": lead.company, "region": lead.region, "industry": lead.industry,
                            "size": lead.company_size})
                created = True
        # A customer made in this unit of work has no contacts yet: its chain is not read.
        chain = () if created else uow.customers.chain(customer.id)
        contact = None
        if not any(customers.same_person(c, lead.phone, lead.email) for c in chain):
            contact = customers.new_contact(id=str(uuid.uuid4()), customer_id=customer.id, lead_id=lead.id, now=now,
                                            values={"display_name": lead.contact_name, "title": lead.contact_title,
                                                    "phone": lead.phone, "email": lead.email})
            chain = (*chain, contact)
            chain_event = customers.chain_changed(customer, chain, now)
        if created:
            # One INSERT carrying the chain revision just taken, instead of an INSERT and an UPDATE of it.
            uow.customers.add(customer)
            events.extend(customer.events)
            customer.events.clear()
        if contact is not None:
            uow.customers.add_contact(contact)
            events.append(chain_event)
            if not created:
                uow.customers.save_chain_revision(customer)
        read_version = lead.version
        lead.convert(by_user_id=caller_id, title=cmd.opportunity_title, now=now, expected_etag=cmd.etag,
                     customer_id=customer.id, decision_chain=chain, without_opportunity=cmd.without_opportunity,
                     product_lines=product_lines)
        uow.leads.update(lead, read_version)
        uow.publish(events + lead.events)
        lead.events.clear()
        uow.commit()
        hide_unseen_originals(uow, caller_id, [lead])
        return lead
