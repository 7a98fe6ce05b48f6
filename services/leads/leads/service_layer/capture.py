"""Capture: a lead created by hand (CreateLead), de-duplicated, and reading leads (GetLead, ListLeads)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from leads.domain import dedupe, lists, model, scoring
from leads.service_layer import request_ids
from leads.service_layer.callers import check_new_owner
from leads.service_layer.conflicts import hide_unseen_originals, who_to_ask
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, names
from shangji_kit.errors import FieldViolation, InvalidArgument, NotFound
from shangji_kit.list_query import ListQuery, list_query
from shangji_kit.paging import Page
from shangji_kit.visibility import Viewer


@dataclass(frozen=True)
class CreateLead:
    company: str
    contact_name: str
    phone: str = ""
    email: str = ""
    region: str = ""
    source: str = ""
    owner: str = ""
    request_id: str = ""
    industry: str = ""
    # Unassigned, into the pool (``owner`` must then be empty).
    to_pool: bool = False
    contact_title: str = ""
    company_size: str = ""
    notes: str = ""
    campaign: str = ""  # "campaigns/{id}", must exist
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Captured:
    """CreateLead's outcome: ``result`` CREATED, FLAGGED (a new lead marked duplicate_of) or MERGED (into
    ``lead``, an existing one). ``visible`` False: the caller may not see the lead merged into, so nothing of
    it is told; ``duplicate_hidden``: nor the lead a flagged one duplicates. Then ``ask`` says whom to ask
    about the conflict (``conflicts.who_to_ask``)."""

    lead: model.Lead
    result: str
    visible: bool = True
    duplicate_hidden: bool = False
    ask: str = ""


@dataclass(frozen=True)
class LeadPage:
    leads: list[model.Lead]
    next_page_token: str


def _incoming_record(lead: model.Lead) -> dict:
    return {f: getattr(lead, f) for f in ("company", "contact_name", "phone", "email", "region", "source",
                                          "industry")} | {"owner_id": lead.owner_id}


def merge_row(merged: dedupe.LeadMerged, request_id: str | None) -> dict:
    return {"id": str(uuid.uuid4()), "lead_id": merged.lead.id, "request_id": request_id or None,
            "matched_on": merged.matched_on, "filled": list(merged.filled),
            "incoming": _incoming_record(merged.incoming), "merged_by": merged.merged_by,
            "create_time": merged.merge_time}


# What a CreateLead request id remembers (``uow.request_ids``, per caller): the lead it created (or flagged),
# or the lead it was merged into.
_MERGED = "merged:"


def _resource(captured: model.Lead, result: str) -> str:
    return (_MERGED if result == "MERGED" else "") + captured.name


def _retry(uow: LeadsUnitOfWork, caller_id: str, resource: str) -> Captured:
    """The first answer again, for a retry (the caller's own request id: nothing is written)."""
    merged = resource.startswith(_MERGED)
    lead = uow.leads.get(names.parse(resource.removeprefix(_MERGED), "leads"))
    result = "MERGED" if merged else "FLAGGED" if lead.duplicate_of else "CREATED"
    return _answer(uow, caller_id, lead, result)


def _answer(uow: LeadsUnitOfWork, caller_id: str, lead: model.Lead, result: str) -> Captured:
    """The outcome as the caller may be told it: a lead merged into, or the original of a flagged one, that
    they may not see is not named; whom to ask is."""
    other_id = lead.id if result == "MERGED" else lead.duplicate_of
    if other_id is None or uow.leads.get_visible(other_id, uow.org.viewer(caller_id)) is not None:
        return Captured(lead, result)
    other = uow.leads.get(other_id)
    ask = who_to_ask(uow, other.owner_id if other else None)
    if result == "MERGED":
        return Captured(lead, result, visible=False, ask=ask)
    return Captured(lead, result, duplicate_hidden=True, ask=ask)


def create_lead(cmd: CreateLead, caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> Captured:
    """Capture a lead, de-duplicated by the company's ``dedupe_mode``: a duplicate is merged into the
    existing lead or created flagged for review."""
    caller_id = caller.user_id(caller_id)
    owner_id = caller_id
    owner_violations: list[FieldViolation] = []
    if cmd.to_pool:
        owner_id = None
        if cmd.owner:
            owner_violations = [FieldViolation("lead.owner", "must be empty for a lead created into the pool")]
    elif cmd.owner:
        try:
            owner_id = names.parse(cmd.owner, "users", "lead.owner")
        except InvalidArgument as exc:
            owner_violations = exc.violations
    campaign_id = None
    if cmd.campaign:
        try:
            campaign_id = names.parse(cmd.campaign, "campaigns", "lead.campaign")
        except InvalidArgument as exc:
            owner_violations = owner_violations + exc.violations
    owner_violations = owner_violations + request_ids.check(cmd.request_id)
    try:
        flags = scoring.check_flags(list(cmd.flags), "lead.flags")
    except InvalidArgument as exc:
        owner_violations, flags = owner_violations + exc.violations, ()
    try:
        lead = model.new_lead(id=str(uuid.uuid4()), company=cmd.company, contact_name=cmd.contact_name,
                              phone=cmd.phone, email=cmd.email, region=cmd.region, source=cmd.source,
                              owner_id=owner_id, now=now, industry=cmd.industry, contact_title=cmd.contact_title,
                              company_size=cmd.company_size, notes=cmd.notes, campaign_id=campaign_id, flags=flags,
                              created_by=caller_id)
    except InvalidArgument as exc:
        raise InvalidArgument(exc.violations + owner_violations) from None
    if owner_violations:
        raise InvalidArgument(owner_violations)
    with uow:
        if campaign_id is not None:
            campaign_source(uow, lead, campaign_id)
        if owner_id is not None and owner_id != caller_id:
            # The caller as owner (named or not) needs no projection row: teams may not have told us yet.
            check_new_owner(uow, caller_id, owner_id)
        settings = uow.pool_settings.scoring()
        keys = dedupe.keys_of(lead)
        uow.leads.lock_keys(keys)
        found = dedupe.find_duplicate(lead, uow.leads.duplicate_candidates([keys]))
        if found and uow.pool_settings.get().dedupe_mode == dedupe.MERGE:
            [existing] = uow.leads.get_many_for_update([found[0].id])
            # The one idempotency check, once the outcome is known and before anything is written: a retry (or
            # a concurrent twin, which waits here for the first to commit) gets the first answer.
            earlier = request_ids.claim(uow, caller_id, "CreateLead", cmd.request_id, _resource(existing, "MERGED"))
            if earlier is not None:
                return _retry(uow, caller_id, earlier)
            read_version = existing.version
            dedupe.merge(existing, lead, found[1], caller_id, now)
            merged = existing.events[-1]
            # Filled fields (industry, source ...) may match scoring rules.
            if scoring.rescore(existing, settings, now):
                existing.new_version(now, since=read_version)
            uow.leads.add_merges([merge_row(merged, None)])
            if existing.version != read_version:
                uow.leads.update(existing, read_version)
            uow.publish(existing.events)
            answer = _answer(uow, caller_id, existing, "MERGED")
            uow.commit()
            return answer
        earlier = request_ids.claim(uow, caller_id, "CreateLead", cmd.request_id, _resource(lead, "CREATED"))
        if earlier is not None:
            return _retry(uow, caller_id, earlier)
        if found:
            dedupe.flag(lead, found[0], found[1])
        scoring.rescore(lead, settings, now, new=True)
        uow.leads.add(lead)
        uow.publish(lead.events)
        answer = _answer(uow, caller_id, lead, "FLAGGED" if found else "CREATED")
        uow.commit()
        return answer


def campaign_source(uow: LeadsUnitOfWork, lead: model.Lead, campaign_id: str) -> None:
    """A lead's campaign must exist; the lead's source channel is the campaign's when it has none."""
    campaign = uow.campaigns.get(campaign_id)
    if campaign is None:
        raise InvalidArgument.field("lead.campaign", f"campaigns/{campaign_id} does not exist")
    if not lead.source:
        lead.source = campaign.channel


def get_lead(lead_id: str, caller_id: str, uow: LeadsUnitOfWork) -> model.Lead:
    caller_id = caller.user_id(caller_id)
    with uow.reading():
        viewer = uow.org.viewer(caller_id)
        lead = uow.leads.get_visible(lead_id, viewer)
        # A lead the caller may not see gets the answer a missing id gets, so ids cannot be probed.
        if lead is None:
            raise NotFound(f"leads/{lead_id}")
        hide_unseen_originals(uow, caller_id, [lead], viewer)
    return lead


def list_leads(caller_id: str, page_size: int, page_token: str, uow: LeadsUnitOfWork, in_pool: bool = False,
               filter_text: str = "", order_by: str = "") -> LeadPage:
    """The held leads the caller may see (or, ``in_pool``, the pool's) that pass the filter (README, "Lists"), in
    the order asked (newest first by default, most relevant first with a search), one page at a time."""
    query = lead_list_query(filter_text, order_by, page_token, page_size)
    caller_id = caller.user_id(caller_id)
    with uow.reading():
        viewer = uow.org.viewer(caller_id)
        page = leads_page(uow, caller_id, viewer, query, in_pool)
    return LeadPage(page.items, page.next_page_token)


def lead_list_query(filter_text: str, order_by: str, page_token: str = "", page_size: int = 0) -> ListQuery:
    """INVALID_ARGUMENT on ``filter``, ``order_by`` or ``page_size`` before anything is read."""
    return list_query(filter_text, order_by, page_token, page_size, filter_fields=lists.LEAD_FILTER_FIELDS,
                      order_fields=lists.LEAD_ORDER_FIELDS, default_order=lists.DEFAULT_ORDER)


def leads_page(uow: LeadsUnitOfWork, caller_id: str, viewer: Viewer, query: ListQuery, in_pool: bool
               ) -> Page[model.Lead]:
    """One page of the leads ``viewer`` may see, as the caller is shown them (inside ``uow``'s transaction)."""
    page = uow.leads.list_visible(viewer, query, in_pool)
    hide_unseen_originals(uow, caller_id, page.items, viewer)
    return page
