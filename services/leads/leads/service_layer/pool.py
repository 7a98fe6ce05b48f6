"""The pool: claiming, returning, assigning (by hand or by the rules), follow-ups and recycling."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from leads.domain import model, pool, scoring
from leads.service_layer import lead_access
from leads.service_layer.callers import check_new_owner
from leads.service_layer.conflicts import hide_unseen_originals, who_to_ask
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, names, paging
from shangji_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied


def _all_found(lead_ids: list[str], found: list[model.Lead]) -> list[model.Lead]:
    """The leads in request order; NOT_FOUND for the first one missing (or hidden: the same answer)."""
    by_id = {lead.id: lead for lead in found}
    for lead_id in lead_ids:
        if lead_id not in by_id:
            raise NotFound(f"leads/{lead_id}")
    return [by_id[lead_id] for lead_id in lead_ids]


def claim_leads(lead_ids: list[str], caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> list[model.Lead]:
    """The caller takes pool leads, all or none, within the company's cap of open leads per rep.

    Leads are looked up whatever their owner, so one claimed a moment ago answers LEAD_HELD (saying
    nothing about who holds it) rather than NOT_FOUND; a missing id is NOT_FOUND.
    """
    caller_id = caller.user_id(caller_id)
    with uow:
        if not uow.org.is_sales(caller_id):
            raise PermissionDenied("only active sales users (sales_rep, sales_manager) may claim pool leads",
                                   reason="NOT_A_SALES_USER")
        uow.leads.lock_holder(caller_id)
        leads = _all_found(lead_ids, uow.leads.get_many_for_update(lead_ids))
        pool.check_claim(leads, caller_id, uow.leads.count_open_held(caller_id), uow.pool_settings.get(), now,
                         ask=lambda holder: who_to_ask(uow, holder))
        for lead in leads:
            read_version = lead.version
            pool.claim(lead, caller_id, now)
            lead_access.save(uow, lead, read_version)
        uow.commit()
        hide_unseen_originals(uow, caller_id, leads)
        return leads


def return_lead(lead_id: str, reason: str, caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> model.Lead:
    """The holder puts a lead back in the pool with a reason from the company's list."""
    caller_id = caller.user_id(caller_id)
    with uow:
        reason = pool.check_reason(reason, uow.pool_settings.get())
        lead = lead_access.held_by_caller(uow, lead_id, caller_id, "return it")
        read_version = lead.version
        pool.return_to_pool(lead, reason, now)
        lead_access.save(uow, lead, read_version)
        uow.commit()
        hide_unseen_originals(uow, caller_id, [lead])
        return lead


def assign_leads(lead_ids: list[str], assignee: str, caller_id: str, uow: LeadsUnitOfWork,
                 now: datetime, reason: str = "") -> list[model.Lead]:
    """A manager above the assignee, or sales ops / admin, gives leads they see (pool or held) to the
    assignee, all or none, with an optional ``reason`` (kept in each lead's history and on LeadAssigned). The
    claim cap does not apply: assigning by hand is a manager's decision."""
    caller_id = caller.user_id(caller_id)
    violations = []
    try:
        assignee_id = names.parse(assignee, "users", "assignee")
    except InvalidArgument as exc:
        violations += exc.violations
    try:
        reason = pool.check_assign_reason(reason)
    except InvalidArgument as exc:
        violations += exc.violations
    if violations:
        raise InvalidArgument(violations)
    with uow:
        check_new_owner(uow, caller_id, assignee_id, "assignee")
        viewer = uow.org.viewer(caller_id)
        uow.leads.lock_holder(assignee_id)
        leads = _all_found(lead_ids, uow.leads.get_many_for_update(lead_ids, viewer))
        pool.check_assign(leads)
        for lead in leads:
            read_version = lead.version
            if pool.assign(lead, assignee_id, caller_id, now, reason):
                lead_access.save(uow, lead, read_version)
        uow.commit()
        hide_unseen_originals(uow, caller_id, leads)
        return leads


def _lead_page(lead_id: str, caller_id: str, page_size: int, page_token: str, uow: LeadsUnitOfWork,
               read: Callable[[int, tuple[datetime, str] | None], list], time: Callable = lambda r: r.create_time
               ) -> paging.Page:
    """One newest-first keyset page of a lead's records (``read(limit, after)``, ordered by ``time`` then id) for
    whoever may see the lead; NOT_FOUND alike for a missing or hidden lead."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    caller_id = caller.user_id(caller_id)
    with uow:
        if uow.leads.get_visible(lead_id, uow.org.viewer(caller_id)) is None:
            raise NotFound(f"leads/{lead_id}")
        rows = read(limit + 1, after)
    page = rows[:limit]
    return paging.Page(page, paging.encode_token(time(page[-1]), page[-1].id) if len(rows) > limit else "")


def list_follow_ups(lead_id: str, caller_id: str, page_size: int, page_token: str,
                    uow: LeadsUnitOfWork) -> paging.Page[pool.FollowUp]:
    """The follow-ups of a lead the caller may see, newest first; NOT_FOUND alike for a missing or hidden lead."""
    return _lead_page(lead_id, caller_id, page_size, page_token, uow,
                      lambda limit, after: uow.leads.follow_ups_of(lead_id, limit, after))


def list_assignments(lead_id: str, caller_id: str, page_size: int, page_token: str,
                     uow: LeadsUnitOfWork) -> paging.Page[model.Assignment]:
    """A lead's changes of holder, newest first, for whoever may see the lead; NOT_FOUND alike for a missing or
    hidden lead."""
    return _lead_page(lead_id, caller_id, page_size, page_token, uow,
                      lambda limit, after: uow.leads.assignments_of(lead_id, limit, after),
                      time=lambda a: a.change_time)


def add_follow_up(lead_id: str, kind: str, note: str, caller_id: str, uow: LeadsUnitOfWork,
                  now: datetime) -> pool.FollowUp:
    """The holder records a call, visit, email or meeting; the first of a holding fixes its first-response time."""
    caller_id = caller.user_id(caller_id)
    note = pool.check_follow_up(kind, note)
    with uow:
        lead = lead_access.held_by_caller(uow, lead_id, caller_id, "record follow-ups on it")
        follow_up = pool.FollowUp(id=str(uuid.uuid4()), lead_id=lead.id, kind=kind, note=note, author_id=caller_id,
                                  create_time=now)
        read_version = lead.version
        pool.add_follow_up(lead, follow_up)
        scoring.record_follow_up(lead, uow.pool_settings.scoring(), now)
        uow.leads.add_follow_up(follow_up)
        lead_access.save(uow, lead, read_version)
        uow.commit()
        return follow_up


def auto_assign_lead(name: str, caller_id: str, uow: LeadsUnitOfWork, now: datetime) -> model.Lead:
    """Sales ops (among every rep) or a department head (among the reps below them) gives a pool lead
    (``name``, "leads/{id}") to the rep the assignment rules choose: territory, expertise, workload against
    capacity, round robin. Anyone else is refused before the name is read."""
    caller_id = caller.user_id(caller_id)
    with uow:
        viewer = uow.org.viewer(caller_id)
        if not (viewer.sees_everything or viewer.headed_paths):
            raise PermissionDenied("only sales ops, admins and department heads may auto-assign leads")
        lead_id = names.parse(name, "leads")
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
        lead_access.save(uow, lead, read_version)
        uow.commit()
        hide_unseen_originals(uow, caller_id, [lead])
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
                    lead_access.save(uow, lead, read_version)
                    done[outcome] += 1
                    acted += 1
            uow.commit()
        # A short batch is the last; one where nothing happened cannot make progress (never loop hot).
        if len(batch) < batch_size or not acted:
            return done
def set_rep_away(user: str, away: bool, caller_id: str, uow: LeadsUnitOfWork) -> tuple[str, bool]:
    """The rep themself, a manager above them, or sales ops / admin marks them away (assignment skips them)."""
    caller_id = caller.user_id(caller_id)
    user_id = names.parse(user, "users", "user")
    with uow:
        if uow.org.is_active(user_id) is None:
            raise InvalidArgument.field("user", f"{user} is not a user leads knows (yet)")
        viewer = uow.org.viewer(caller_id)
        if not (user_id == caller_id or viewer.sees_everything or uow.org.manages(viewer, user_id)):
            raise PermissionDenied(f"only {user} themself, a manager above them or sales ops may mark them away",
                                   metadata={"user": user})
        uow.reps.set_away(user_id, away)
        uow.commit()
        return user_id, away


