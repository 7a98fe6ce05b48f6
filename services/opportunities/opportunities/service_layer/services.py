"""Opportunities use cases: a command in, state and events out, one transaction each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from opportunities.domain import model
from shangji_kit import paging
from shangji_kit.errors import FailedPrecondition, NotFound

if TYPE_CHECKING:  # the unit of work imports protomap, which builds this module's commands
    from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork

LEAD_CONVERTED_CONSUMER = "opportunities.on_lead_converted"
LEAD_CONVERTED_TYPE = "shangji.leads.v1.LeadConverted"



@dataclass(frozen=True)
class RegisterFromConversion:
    lead_id: str
    owner_id: str
    registrant_id: str
    title: str
    customer_company: str
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    region: str = ""
    source: str = ""


@dataclass(frozen=True)
class OpportunityPage:
    opportunities: list[model.Opportunity]
    next_page_token: str


def register_from_conversion(cmd: RegisterFromConversion, event_id: str,
                             uow: OpportunitiesUnitOfWork) -> model.Opportunity | None:
    """The deal a converted lead yields; None when this event or this lead was already handled."""
    now = datetime.now(UTC)
    with uow:
        if not uow.claim_event(LEAD_CONVERTED_CONSUMER, event_id, LEAD_CONVERTED_TYPE):
            return None
        pipeline = uow.pipelines.default()
        if pipeline is None:
            raise FailedPrecondition("no default pipeline is configured", reason="NO_DEFAULT_PIPELINE")
        opportunity = model.register_from_lead(
            id=str(uuid.uuid4()), lead_id=cmd.lead_id, title=cmd.title, customer_company=cmd.customer_company,
            contact_name=cmd.contact_name, contact_phone=cmd.contact_phone, contact_email=cmd.contact_email,
            region=cmd.region, source=cmd.source, owner_id=cmd.owner_id, registrant_id=cmd.registrant_id,
            pipeline=pipeline, now=now)
        registered = uow.opportunities.add(opportunity)
        if registered:
            uow.publish(opportunity.events)
        # Commit even when the lead already had its deal (another event id for the same conversion):
        # the inbox row must stick so this delivery is not handled again.
        uow.commit()
        return opportunity if registered else None


def get_opportunity(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    with uow:
        opportunity = uow.opportunities.get(opportunity_id)
        # Someone else's deal gets the same answer as a missing one (team visibility comes with teams' projection).
        if opportunity is None or opportunity.owner_id != _user_id(caller_id):
            raise NotFound(f"opportunities/{opportunity_id}")
        return opportunity


def list_opportunities(caller_id: str, page_size: int, page_token: str,
                       uow: OpportunitiesUnitOfWork) -> OpportunityPage:
    """The caller's own opportunities, newest first, one page at a time."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    owner_id = _user_id(caller_id)
    if owner_id is None:
        return OpportunityPage([], "")
    with uow:
        # One row beyond the page tells whether another page exists, so the last page carries no token.
        rows = uow.opportunities.list_owned(owner_id, limit + 1, after)
    page = rows[:limit]
    token = paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""
    return OpportunityPage(page, token)


def _user_id(caller_id: str) -> str | None:
    """The caller as a users.id, or None when the token's subject is not one (it then owns nothing)."""
    try:
        return str(uuid.UUID(caller_id))
    except (ValueError, TypeError):
        return None
