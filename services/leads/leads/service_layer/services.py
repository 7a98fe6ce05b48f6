"""Leads use cases: a command in, state and events out, one transaction each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leads.domain import customers, dedupe, importing, model, pool, scoring
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import names, paging
from shangji_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from shangji_kit.inbox import Delivery
from shangji_kit.visibility import OrgDepartment, OrgUser


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
    ``lead``, an existing one; ``visible`` False when the caller may not see it: then only its name is told)."""

    lead: model.Lead
    result: str
    visible: bool = True


@dataclass(frozen=True)
class LeadPage:
    leads: list[model.Lead]
    next_page_token: str


def caller_user_id(caller_id: str) -> str:
    # Owner ids are stored as UUIDs; a token whose subject is not one cannot own or see a lead.
    try:
        return str(uuid.UUID(caller_id))
    except ValueError as exc:
        raise Unauthenticated("the token's subject is not a user id", reason="INVALID_SUBJECT") from exc


def check_new_owner(uow: LeadsUnitOfWork, caller_id: str, owner_id: str, field: str = "lead.owner") -> None:
    """Someone else as a lead's owner: a user teams has told us about and not deactivated, and the
    caller a manager above them or sales ops / admin."""
    owner = names.format("users", owner_id)
    active = uow.org.is_active(owner_id)
    if active is None:
        # teams' UserCreated may reach us a moment after the user exists; the client can retry.
        raise InvalidArgument.field(field, f"{owner} is not a user leads knows (yet)")
    if not active:
        raise FailedPrecondition(f"{owner} is deactivated and cannot own leads", reason="INACTIVE_USER",
                                 metadata={"user": owner})
    viewer = uow.org.viewer(caller_id)
    if not (viewer.sees_everything or uow.org.manages(viewer, owner_id)):
        raise PermissionDenied(f"only {owner} themself, a manager above them, or sales ops may give them a lead",
                               metadata={"user": owner})


def _incoming_record(lead: model.Lead) -> dict:
    return {f: getattr(lead, f) for f in ("company", "contact_name", "phone", "email", "region", "source",
                                          "industry")} | {"owner_id": lead.owner_id}


def _merge_row(merged: dedupe.LeadMerged, request_id: str | None) -> dict:
    return {"id": str(uuid.uuid4()), "lead_id": merged.lead.id, "request_id": request_id or None,
            "matched_on": merged.matched_on, "filled": list(merged.filled),
            "incoming": _incoming_record(merged.incoming), "merged_by": merged.merged_by,
            "create_time": merged.merge_time}


def _earlier_capture(uow: LeadsUnitOfWork, request_id: str, caller_id: str) -> Captured | None:
    earlier = uow.leads.get_by_request_id(request_id)
    if earlier:
        # A retry answers with the lead it made; someone who may not see that lead reused another's key
        # and learns nothing of it.
        if uow.leads.get_visible(earlier.id, uow.org.viewer(caller_id)) is None:
            raise AlreadyExists("request_id was used for another caller's lead; choose a new one",
                                metadata={"request_id": request_id})
        return Captured(earlier, "FLAGGED" if earlier.duplicate_of else "CREATED")
    merged_into = uow.leads.merged_lead_for(request_id)
    if merged_into:
        visible = uow.leads.get_visible(merged_into.id, uow.org.viewer(caller_id)) is not None
        return Captured(merged_into, "MERGED", visible)
    return None


def create_lead(cmd: CreateLead, caller_id: str, uow: LeadsUnitOfWork) -> Captured:
    """Capture a lead, de-duplicated by the company's ``dedupe_mode``: a duplicate is merged into the
    existing lead or created flagged for review."""
    caller_id = caller_user_id(caller_id)
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
    try:
        flags = scoring.check_flags(list(cmd.flags), "lead.flags")
    except InvalidArgument as exc:
        owner_violations, flags = owner_violations + exc.violations, ()
    now = datetime.now(UTC)
    try:
        lead = model.new_lead(id=str(uuid.uuid4()), company=cmd.company, contact_name=cmd.contact_name,
                              phone=cmd.phone, email=cmd.email, region=cmd.region, source=cmd.source,
                              owner_id=owner_id, now=now, industry=cmd.industry, contact_title=cmd.contact_title,
                              company_size=cmd.company_size, notes=cmd.notes, campaign_id=campaign_id, flags=flags)
    except InvalidArgument as exc:
        raise InvalidArgument(exc.violations + owner_violations) from None
    if owner_violations:
        raise InvalidArgument(owner_violations)
    with uow:
        if cmd.request_id:
            earlier = _earlier_capture(uow, cmd.request_id, caller_id)
            if earlier:
                return earlier
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
            read_version = existing.version
            dedupe.merge(existing, lead, found[1], caller_id, now)
            merged = existing.events[-1]
            # Filled fields (industry, source ...) may match scoring rules.
            if scoring.rescore(existing, settings, now) and existing.version == read_version:
                existing.version += 1
                existing.update_time = now
            if cmd.request_id and uow.leads.taken_request_ids([cmd.request_id]):
                return _earlier_capture(uow, cmd.request_id, caller_id)
            uow.leads.add_merges([_merge_row(merged, cmd.request_id)])
            if existing.version != read_version:
                uow.leads.update(existing, read_version)
            uow.publish(existing.events)
            visible = uow.leads.get_visible(existing.id, uow.org.viewer(caller_id)) is not None
            uow.commit()
            return Captured(existing, "MERGED", visible)
        if found:
            dedupe.flag(lead, found[0], found[1])
        scoring.rescore(lead, settings, now, new=True)
        if uow.leads.add(lead, cmd.request_id) is None:
            # A concurrent create with the same request id committed first; ours wrote nothing.
            return _earlier_capture(uow, cmd.request_id, caller_id)
        uow.publish(lead.events)
        uow.commit()
        return Captured(lead, "FLAGGED" if found else "CREATED")


def campaign_source(uow: LeadsUnitOfWork, lead: model.Lead, campaign_id: str) -> None:
    """A lead's campaign must exist; the lead's source channel is the campaign's when it has none."""
    campaign = uow.campaigns.get(campaign_id)
    if campaign is None:
        raise InvalidArgument.field("lead.campaign", f"campaigns/{campaign_id} does not exist")
    if not lead.source:
        lead.source = campaign.channel


def get_lead(lead_id: str, caller_id: str, uow: LeadsUnitOfWork) -> model.Lead:
    caller_id = caller_user_id(caller_id)
    with uow:
        lead = uow.leads.get_visible(lead_id, uow.org.viewer(caller_id))
    # A lead the caller may not see gets the answer a missing id gets, so ids cannot be probed.
    if lead is None:
        raise NotFound(f"leads/{lead_id}")
    return lead


def list_leads(caller_id: str, page_size: int, page_token: str, uow: LeadsUnitOfWork,
               in_pool: bool = False) -> LeadPage:
    """The held leads the caller may see (or, ``in_pool``, the pool's), newest first, one page at a time."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    caller_id = caller_user_id(caller_id)
    with uow:
        # One row beyond the page tells whether another page exists, so the last page carries no token.
        rows = uow.leads.list_visible(uow.org.viewer(caller_id), limit + 1, after, in_pool)
    page = rows[:limit]
    token = paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""
    return LeadPage(page, token)


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


def convert_lead(cmd: ConvertLead, caller_id: str, uow: LeadsUnitOfWork) -> model.Lead:
    """One transaction: the lead closes as converted into a customer (the one named, the same company's in
    the region, or a new one), its contact joins the customer's decision chain, and LeadConverted carries the
    customer and the chain (opportunities registers a deal unless ``without_opportunity``)."""
    caller_id = caller_user_id(caller_id)
    customer_id = names.parse(cmd.customer, "customers", "customer") if cmd.customer else None
    now = datetime.now(UTC)
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
        if lead.scored_with < settings.version:
            # The worker has not rescored it since the rules changed: judge it by the rules in force.
            scoring.rescore(lead, settings, now)
        if not scoring.is_qualified_for_conversion(lead, settings):
            if not cmd.force:
                raise FailedPrecondition(
                    f"{lead.name} is {lead.qualification}; conversion needs {settings.convert_requires} "
                    "(a manager above the owner may force it)", reason="LEAD_NOT_QUALIFIED",
                    metadata={"resource": lead.name, "qualification": lead.qualification,
                              "required": settings.convert_requires, "score": str(lead.score)})
            if not manager:
                raise PermissionDenied(f"only a manager above the owner of {lead.name} may force its conversion",
                                       reason="FORCE_NEEDS_MANAGER", metadata={"resource": lead.name})
        events: list = []
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
                uow.customers.add(customer, None)
                events.extend(customer.events)
                customer.events.clear()
        chain = uow.customers.chain(customer.id)
        if not any(customers.same_person(c, lead.phone, lead.email) for c in chain):
            contact = customers.new_contact(id=str(uuid.uuid4()), customer_id=customer.id, lead_id=lead.id, now=now,
                                            values={"display_name": lead.contact_name, "title": lead.contact_title,
                                                    "phone": lead.phone, "email": lead.email})
            uow.customers.add_contact(contact)
            chain = (*chain, contact)
            events.append(customers.chain_changed(customer, chain, now))
            uow.customers.save_chain_revision(customer)
        read_version = lead.version
        lead.convert(by_user_id=caller_id, title=cmd.opportunity_title, now=now, expected_etag=cmd.etag,
                     customer_id=customer.id, decision_chain=chain, without_opportunity=cmd.without_opportunity)
        uow.leads.update(lead, read_version)
        uow.publish(events + lead.events)
        lead.events.clear()
        uow.commit()
        return lead


# --- the pool ------------------------------------------------------------------------------------

BATCH_LIMIT = 100


def parse_lead_names(lead_names: list[str], field: str = "names") -> list[str]:
    """Lead ids from "leads/{id}" names, each bad one named as ``names[i]``; duplicates folded, order kept."""
    if not lead_names:
        raise InvalidArgument.field(field, "required: at least one lead")
    if len(lead_names) > BATCH_LIMIT:
        raise InvalidArgument.field(field, f"at most {BATCH_LIMIT} leads at a time")
    ids: list[str] = []
    violations: list[FieldViolation] = []
    for i, name in enumerate(lead_names):
        try:
            ids.append(names.parse(name, "leads", f"{field}[{i}]"))
        except InvalidArgument as exc:
            violations += exc.violations
    if violations:
        raise InvalidArgument(violations)
    return list(dict.fromkeys(ids))


def _all_found(lead_ids: list[str], found: list[model.Lead]) -> list[model.Lead]:
    """The leads in request order; NOT_FOUND for the first one missing (or hidden: the same answer)."""
    by_id = {lead.id: lead for lead in found}
    for lead_id in lead_ids:
        if lead_id not in by_id:
            raise NotFound(f"leads/{lead_id}")
    return [by_id[lead_id] for lead_id in lead_ids]


def _save(uow: LeadsUnitOfWork, lead: model.Lead, read_version: int) -> None:
    uow.leads.update(lead, read_version)
    uow.publish(lead.events)


def claim_leads(lead_ids: list[str], caller_id: str, uow: LeadsUnitOfWork,
                now: datetime | None = None) -> list[model.Lead]:
    """The caller takes pool leads, all or none, within the company's cap of open leads per rep.

    Leads are looked up whatever their owner, so one claimed a moment ago answers LEAD_HELD (saying
    nothing about who holds it) rather than NOT_FOUND; a missing id is NOT_FOUND.
    """
    caller_id = caller_user_id(caller_id)
    now = now or datetime.now(UTC)
    with uow:
        if not uow.org.is_sales(caller_id):
            raise PermissionDenied("only active sales users (sales_rep, sales_manager) may claim pool leads",
                                   reason="NOT_A_SALES_USER")
        uow.leads.lock_holder(caller_id)
        leads = _all_found(lead_ids, uow.leads.get_many_for_update(lead_ids))
        pool.check_claim(leads, caller_id, uow.leads.count_open_held(caller_id), uow.pool_settings.get(), now)
        for lead in leads:
            read_version = lead.version
            pool.claim(lead, caller_id, now)
            _save(uow, lead, read_version)
        uow.commit()
        return leads


def _held_by_caller(uow: LeadsUnitOfWork, lead_id: str, caller_id: str, doing: str) -> model.Lead:
    lead = uow.leads.get_visible(lead_id, uow.org.viewer(caller_id), for_update=True)
    if lead is None:
        raise NotFound(f"leads/{lead_id}")
    if lead.owner_id != caller_id:
        raise PermissionDenied(f"only the holder of {lead.name} may {doing}", metadata={"resource": lead.name})
    return lead


def return_lead(lead_id: str, reason: str, caller_id: str, uow: LeadsUnitOfWork,
                now: datetime | None = None) -> model.Lead:
    """The holder puts a lead back in the pool with a reason from the company's list."""
    caller_id = caller_user_id(caller_id)
    now = now or datetime.now(UTC)
    with uow:
        reason = pool.check_reason(reason, uow.pool_settings.get())
        lead = _held_by_caller(uow, lead_id, caller_id, "return it")
        read_version = lead.version
        pool.return_to_pool(lead, reason, now)
        _save(uow, lead, read_version)
        uow.commit()
        return lead


def assign_leads(lead_ids: list[str], assignee: str, caller_id: str, uow: LeadsUnitOfWork,
                 now: datetime | None = None) -> list[model.Lead]:
    """A manager above the assignee, or sales ops / admin, gives leads they see (pool or held) to the
    assignee, all or none. The claim cap does not apply: assigning by hand is a manager's decision."""
    caller_id = caller_user_id(caller_id)
    now = now or datetime.now(UTC)
    assignee_id = names.parse(assignee, "users", "assignee")
    with uow:
        active = uow.org.is_active(assignee_id)
        if active is None:
            raise InvalidArgument.field("assignee", f"{assignee} is not a user leads knows (yet)")
        if not active:
            raise FailedPrecondition(f"{assignee} is deactivated and cannot hold leads", reason="INACTIVE_USER",
                                     metadata={"user": assignee})
        viewer = uow.org.viewer(caller_id)
        if not (viewer.sees_everything or uow.org.manages(viewer, assignee_id)):
            raise PermissionDenied(f"only a manager above {assignee} or sales ops may assign them leads",
                                   metadata={"user": assignee})
        uow.leads.lock_holder(assignee_id)
        leads = _all_found(lead_ids, uow.leads.get_many_for_update(lead_ids, viewer))
        pool.check_assign(leads)
        for lead in leads:
            read_version = lead.version
            if pool.assign(lead, assignee_id, caller_id, now):
                _save(uow, lead, read_version)
        uow.commit()
        return leads


def add_follow_up(lead_id: str, kind: str, note: str, caller_id: str, uow: LeadsUnitOfWork,
                  now: datetime | None = None) -> pool.FollowUp:
    """The holder records a call, visit, email or meeting; the first of a holding fixes its first-response time."""
    caller_id = caller_user_id(caller_id)
    now = now or datetime.now(UTC)
    note = pool.check_follow_up(kind, note)
    with uow:
        lead = _held_by_caller(uow, lead_id, caller_id, "record follow-ups on it")
        follow_up = pool.FollowUp(id=str(uuid.uuid4()), lead_id=lead.id, kind=kind, note=note, author_id=caller_id,
                                  create_time=now)
        read_version = lead.version
        pool.add_follow_up(lead, follow_up)
        # Each follow-up counts as a behaviour (points per the settings' "follow_up").
        lead.behaviour_counts = {**lead.behaviour_counts,
                                 scoring.FOLLOW_UP: lead.behaviour_counts.get(scoring.FOLLOW_UP, 0) + 1}
        scoring.rescore(lead, uow.pool_settings.scoring(), now)
        uow.leads.add_follow_up(follow_up)
        _save(uow, lead, read_version)
        uow.commit()
        return follow_up


def auto_assign_lead(lead_id: str, caller_id: str, uow: LeadsUnitOfWork,
                     now: datetime | None = None) -> model.Lead:
    """Sales ops (among every rep) or a department head (among the reps below them) gives a pool lead to
    the rep the assignment rules choose: territory, expertise, workload against capacity, round robin."""
    caller_id = caller_user_id(caller_id)
    now = now or datetime.now(UTC)
    with uow:
        viewer = uow.org.viewer(caller_id)
        if not (viewer.sees_everything or viewer.headed_paths):
            raise PermissionDenied("only sales ops, admins and department heads may auto-assign leads")
        lead = uow.leads.get_visible(lead_id, viewer, for_update=True)
        if lead is None:
            raise NotFound(f"leads/{lead_id}")
        if lead.owner_id is not None:
            raise FailedPrecondition(f"{lead.name} is already held, not in the pool", reason="LEAD_HELD",
                                     metadata={"resources": lead.name})
        candidates = uow.reps.candidates(None if viewer.sees_everything else viewer.headed_paths)
        choice = pool.choose_assignee(lead, candidates)
        if choice is None:
            raise FailedPrecondition("no active sales rep with room for another lead", reason="NO_ELIGIBLE_REP",
                                     metadata={"resource": lead.name})
        read_version = lead.version
        pool.auto_assign(lead, choice, caller_id, now)
        uow.reps.assigned(choice.user_id, now)
        _save(uow, lead, read_version)
        uow.commit()
        return lead


def recycle(now: datetime, uow: LeadsUnitOfWork, batch_size: int = 500) -> dict[str, int]:
    """Apply the recycle rules at ``now``: warn owners a day ahead (once per deadline), return overdue
    leads to the pool with a reclaim bar. One transaction per batch; counts of what was done."""
    done = {"WARNED": 0, "RECYCLED": 0}
    while True:
        with uow:
            settings = uow.pool_settings.get()
            batch = uow.leads.recycle_candidates(settings, now, batch_size)
            acted = 0
            for lead in batch:
                read_version = lead.version
                outcome = pool.apply_recycle_rules(lead, settings, now)
                if outcome:
                    _save(uow, lead, read_version)
                    done[outcome] += 1
                    acted += 1
            uow.commit()
        # A short batch is the last; one where nothing happened cannot make progress (never loop hot).
        if len(batch) < batch_size or not acted:
            return done


# --- import ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportLeads:
    """A table to import: header ``columns`` and ``rows`` of (row number in the file, values)."""

    columns: list[str]
    rows: list[tuple[int, list[str]]]
    owner: str = ""  # "users/{id}"; the caller when empty (unless to_pool)
    to_pool: bool = False
    all_or_nothing: bool = False
    file_name: str = ""
    # Into the pool, then each new lead to the rep the assignment rules choose (like AutoAssignLead).
    auto_assign: bool = False
    # "campaigns/{id}" every row came from (must exist); a row without a source gets the campaign's channel.
    campaign: str = ""


IMPORT_BATCH = 5000


def _import_owner(cmd: ImportLeads, caller_id: str | None) -> str | None:
    if cmd.to_pool:
        if cmd.owner:
            raise InvalidArgument.field("owner", "must be empty for an import into the pool")
        return None
    if cmd.owner:
        return names.parse(cmd.owner, "users", "owner")
    if caller_id is None:
        raise InvalidArgument.field("owner", "required: an owner or the pool")
    return caller_id


def import_leads(cmd: ImportLeads, caller_id: str | None, uow: LeadsUnitOfWork, progress=None,
                 now: datetime | None = None) -> importing.ImportReport:
    """Import a table of leads in one transaction: each row validated like CreateLead, de-duplicated
    against the database and the rows before it (merge or flag, per ``dedupe_mode``), rows an earlier
    import of the same content took skipped (their request ids). ``all_or_nothing``: any rejected row
    writes nothing. ``caller_id`` None: an operator's import (the CLI), trusted to name any owner.
    ``progress(stage, done, total)`` is called as rows are checked ("checking") and decided ("deciding")."""
    positions = importing.column_map(cmd.columns)
    caller_id = caller_user_id(caller_id) if caller_id is not None else None
    owner_id = _import_owner(cmd, caller_id)
    if cmd.auto_assign and not cmd.to_pool:
        raise InvalidArgument.field("auto_assign", "only for an import into the pool")
    campaign_id = names.parse(cmd.campaign, "campaigns", "campaign") if cmd.campaign else None
    now = now or datetime.now(UTC)
    report = importing.ImportReport(content_sha256=importing.content_sha256(cmd.columns, cmd.rows))
    parsed: list[importing.Row] = []
    for i, (row_number, values) in enumerate(cmd.rows, start=1):
        if progress and (i % IMPORT_BATCH == 0 or i == len(cmd.rows)):
            progress("checking", i, len(cmd.rows))
        if importing.is_blank(values):
            continue
        result = importing.parse_row(row_number, values, positions, id=str(uuid.uuid4()), owner_id=owner_id, now=now,
                                     campaign_id=campaign_id)
        if isinstance(result, list):
            report.rejections.extend(result)
        else:
            parsed.append(importing.Row(row_number, importing.row_request_id(report.content_sha256, row_number),
                                        result))
    if cmd.all_or_nothing and report.rejections:
        return report
    total = len(parsed)
    with uow:
        if caller_id is not None and owner_id is not None and owner_id != caller_id:
            check_new_owner(uow, caller_id, owner_id)
        assigner = _import_assigner(uow, caller_id) if cmd.auto_assign else None
        channel = ""
        if campaign_id is not None:
            campaign = uow.campaigns.get(campaign_id)
            if campaign is None:
                raise InvalidArgument.field("campaign", f"campaigns/{campaign_id} does not exist")
            channel = campaign.channel
        mode = uow.pool_settings.get().dedupe_mode
        score_settings = uow.pool_settings.scoring()
        new: list[tuple[model.Lead, str, dedupe.Keys]] = []
        changed: dict[str, tuple[model.Lead, int]] = {}  # existing leads merged into: (lead, version read)
        merges: list[dict] = []
        events: list = []
        # Leads seen so far by key: the database's (fetched per batch) and this import's own new ones.
        by_key: dict[tuple[str, str], model.Lead] = {}
        created_ids: set[str] = set()

        def key_list(k: dedupe.Keys) -> list[tuple[str, str]]:
            return [key for key in (("p", k.phone), ("e", k.email), ("c", f"{k.company}\x00{k.region}"
                                                                     if k.company else "")) if key[1]]

        def index(lead: model.Lead, k: dedupe.Keys) -> None:
            for key in key_list(k):
                by_key.setdefault(key, lead)

        for start in range(0, total, IMPORT_BATCH):
            batch = parsed[start:start + IMPORT_BATCH]
            taken = uow.leads.taken_request_ids([r.request_id for r in batch])
            batch_keys = [dedupe.keys_of(r.lead) for r in batch]
            for lead in uow.leads.duplicate_candidates([k for r, k in zip(batch, batch_keys, strict=True)
                                                        if r.request_id not in taken]):
                index(lead, dedupe.keys_of(lead))
            for row, k in zip(batch, batch_keys, strict=True):
                if row.request_id in taken:
                    report.already_imported += 1
                    continue
                candidates = [by_key[key] for key in key_list(k) if key in by_key]
                found = dedupe.find_duplicate(row.lead, candidates, k) if candidates else None
                if found and mode == dedupe.MERGE:
                    existing, on = found
                    if existing.id not in changed and existing.id not in created_ids:
                        changed[existing.id] = (existing, existing.version)
                    dedupe.merge(existing, row.lead, on, caller_id, now)
                    merged = existing.events.pop()
                    scoring.rescore(existing, score_settings, now)
                    if existing.id in created_ids:
                        existing.version = 1  # not written yet: still its first version
                    events.append(merged)
                    events.extend(existing.events)
                    existing.events.clear()
                    merges.append(_merge_row(merged, row.request_id))
                    report.merged += 1
                    continue
                if found:
                    dedupe.flag(row.lead, found[0], found[1])
                    report.flagged += 1
                if channel and not row.lead.source:
                    row.lead.source = channel
                scoring.rescore(row.lead, score_settings, now, new=True)
                if assigner is not None and assigner(row.lead):
                    report.assigned += 1
                new.append((row.lead, row.request_id, k))
                created_ids.add(row.lead.id)
                events.extend(row.lead.events)
                row.lead.events.clear()
                index(row.lead, k)
                report.accepted += 1
            if progress:
                progress("deciding", min(start + IMPORT_BATCH, total), total)
        if assigner is not None:
            assigner.remember()
        uow.leads.copy_in(new)
        if progress:
            progress("writing leads", len(new), len(new))
        for lead, read_version in changed.values():
            if lead.version != read_version:
                uow.leads.update(lead, read_version)
        uow.leads.add_merges(merges)
        if progress:
            progress("writing merges", len(merges), len(merges))
        report.committed = True
        events.append(importing.LeadsImported(report=report, file_name=cmd.file_name, imported_by=caller_id,
                                              import_time=now))
        uow.publish_bulk(events)
        if progress:
            progress("writing events", len(events), len(events))
        uow.commit()
    return report


class _ImportAssigner:
    """The assignment rules over an import's new pool leads (``pool.RoundRobin``: the candidates read and
    locked once, each lead given out counted before the next)."""

    def __init__(self, uow: LeadsUnitOfWork, caller_id: str | None, candidates: list[pool.Candidate]) -> None:
        self.uow = uow
        self.by = caller_id
        self.rules = pool.RoundRobin(candidates)
        self.assigned: dict[str, datetime] = {}
        self.tick = datetime.now(UTC)

    def __call__(self, lead: model.Lead) -> bool:
        choice = self.rules.choose(lead)
        if choice is None:
            return False  # nobody has room: the lead stays in the pool
        # Distinct, increasing times keep the round robin turning within one import.
        self.tick += timedelta(microseconds=1)
        pool.auto_assign(lead, choice, self.by or "", self.tick)
        # The lead is created held: its LeadCreated says by whom (no change of holder to announce, and an
        # event per row fewer: the outbox was half of an import's time).
        lead.events.pop()
        lead.version = 1  # not written yet: still its first version
        self.rules.taken(choice.user_id, self.tick)
        self.assigned[choice.user_id] = self.tick
        return True

    def remember(self) -> None:
        self.uow.reps.assigned_many(self.assigned)


def _import_assigner(uow: LeadsUnitOfWork, caller_id: str | None) -> _ImportAssigner:
    """Sales ops / admin (or the operator's CLI) assign among every rep, a department head among theirs."""
    if caller_id is None:
        return _ImportAssigner(uow, None, uow.reps.candidates(None))
    viewer = uow.org.viewer(caller_id)
    if not (viewer.sees_everything or viewer.headed_paths):
        raise PermissionDenied("only sales ops, admins and department heads may auto-assign leads")
    return _ImportAssigner(uow, caller_id, uow.reps.candidates(None if viewer.sees_everything else viewer.headed_paths))


# --- teams' events -------------------------------------------------------------------------------

def record_user(user: OrgUser, delivery: Delivery, uow: LeadsUnitOfWork,
                profile: pool.RepProfile | None = None) -> bool:
    """UserCreated/UserUpdated/UserDeactivated into the projection (and the rep's territories, expertise and
    capacity into ``reps`` when given); False for a redelivery.

    A state older than the one held is ignored (by update time), so reordered events leave it right.
    """
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_user(user)
        if profile is not None:
            uow.reps.apply_profile(profile)
        uow.commit()
        return True


def record_department(department: OrgDepartment, delivery: Delivery, uow: LeadsUnitOfWork) -> bool:
    """DepartmentChanged into the projection; False for a redelivery. Older states are ignored."""
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_department(department)
        uow.commit()
        return True


def hand_over(cmd: model.HandOver, delivery: Delivery, uow: LeadsUnitOfWork) -> list[str]:
    """Every OPEN lead of the previous owner goes to the successor, each move recorded in
    ``owner_changes``; converted leads keep their owner. Their customers go to the successor too. The lead
    ids moved ([] for a redelivery)."""
    now = datetime.now(UTC)
    with uow:
        if not uow.claim(delivery):
            return []
        moved = []
        if cmd.from_owner_id != cmd.to_owner_id:
            moved = uow.leads.hand_over_open(cmd.from_owner_id, cmd.to_owner_id, cmd.transfer_id,
                                             cmd.transfer_time or now, now)
            # The leaver's customers are live accounts: they follow too, each a CustomerUpdated.
            uow.publish([customers.CustomerUpdated(c, uow.customers.chain(c.id), ("owner",), "")
                         for c in uow.customers.hand_over(cmd.from_owner_id, cmd.to_owner_id, now)])
        uow.commit()
        return moved
