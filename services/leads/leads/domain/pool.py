"""The lead pool (公海池): claiming, returning, assigning, follow-ups and the recycle rules.

Plain Python: no database, no protos, no framework. A lead with no owner is in the pool. Each change
bumps the lead's version and records a domain event on ``lead.events`` for the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leads.domain import model
from leads.domain.model import OPEN, Lead
from shangji_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument

# Roles that work the pool: they see its leads and may claim them (sales_ops and admin see everything).

NO_FOLLOW_UP = "NO_FOLLOW_UP"
UNCONVERTED = "UNCONVERTED"
# How long before a recycle its owner is warned.
WARNING_AHEAD = timedelta(days=1)

FOLLOW_UP_KINDS = ("CALL", "VISIT", "EMAIL", "MEETING")
NOTE_LIMIT = 2000
# Why a lead was assigned by hand (AssignLeads' reason), kept in its history and on LeadAssigned.
ASSIGN_REASON_LIMIT = 500


@dataclass(frozen=True)
class PoolSettings:
    """The company's pool settings; a rule whose days are 0 or less is off."""

    claim_cap: int = 50
    return_reasons: tuple[str, ...] = ("unreachable", "no_need", "duplicate", "wrong_contact", "other")
    recycle_after_days_without_follow_up: int = 7
    recycle_after_days_unconverted: int = 30
    reclaim_bar_days: int = 3
    # What an incoming duplicate does: "merge" into the existing lead or "flag" it for review (dedupe.py).
    dedupe_mode: str = "flag"


# --- events -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeadClaimed:
    lead: Lead
    claim_time: datetime


@dataclass(frozen=True)
class LeadReturned:
    lead: Lead
    previous_owner_id: str
    reason: str
    return_time: datetime


@dataclass(frozen=True)
class LeadAssigned:
    lead: Lead
    previous_owner_id: str | None
    assigned_by: str
    assign_time: datetime
    # The assignment rules that chose the assignee (empty for a manual assignment).
    rules: tuple[str, ...] = ()
    # Why, when assigned by hand with a reason.
    reason: str = ""


@dataclass(frozen=True)
class LeadRecycleWarning:
    lead: Lead
    rule: str
    recycle_time: datetime


@dataclass(frozen=True)
class LeadRecycled:
    lead: Lead
    previous_owner_id: str
    rule: str
    reclaim_barred_until: datetime
    recycle_time: datetime


@dataclass
class FollowUp:
    id: str
    lead_id: str
    kind: str
    note: str
    author_id: str
    create_time: datetime

    @property
    def name(self) -> str:
        return f"leads/{self.lead_id}/followUps/{self.id}"


@dataclass(frozen=True)
class FollowUpAdded:
    lead: Lead
    follow_up: FollowUp = field(compare=False)


# --- holding and releasing ----------------------------------------------------------------------

def _take(lead: Lead, owner_id: str, now: datetime) -> None:
    """A new holding: its clocks (recycle, first response) start now."""
    lead.owner_id = owner_id
    lead.hold_time = now
    lead.first_response_time = None
    lead.recycle_warned_for = None
    lead.update_time = now
    lead.version += 1


def _release(lead: Lead, now: datetime) -> str:
    previous = lead.owner_id
    lead.previous_owner_id = previous
    lead.owner_id = None
    lead.hold_time = None
    lead.first_response_time = None
    lead.recycle_warned_for = None
    lead.update_time = now
    lead.version += 1
    return previous


def _names(leads: Sequence[Lead]) -> str:
    return ",".join(lead.name for lead in leads)


def check_claim(leads: Sequence[Lead], user_id: str, open_held: int, settings: PoolSettings,
                now: datetime, ask: Callable[[str], str] = lambda holder: "") -> None:
    """Every lead claimable by ``user_id``, who holds ``open_held`` open leads; else FAILED_PRECONDITION
    naming the leads asked for and, for held ones, whom to ask (``ask(holder_id)``, in the same order),
    nothing about who holds them."""
    held = [lead for lead in leads if lead.owner_id is not None]
    if held:
        whom = ",".join(ask(lead.owner_id) for lead in held)
        raise FailedPrecondition(f"already held, not in the pool: {_names(held)}; ask {whom}", reason="LEAD_HELD",
                                 metadata={"resources": _names(held), "ask": whom})
    barred = [lead for lead in leads if lead.previous_owner_id == user_id and lead.reclaim_barred_until
              and now < lead.reclaim_barred_until]
    if barred:
        until = max(lead.reclaim_barred_until for lead in barred)
        raise FailedPrecondition(f"recycled from you; you may claim again from {until.isoformat()}: {_names(barred)}",
                                 reason="RECLAIM_BARRED",
                                 metadata={"resources": _names(barred), "barred_until": until.isoformat()})
    if open_held + len(leads) > settings.claim_cap:
        raise FailedPrecondition(
            f"claiming {len(leads)} would make {open_held + len(leads)} open leads, above the cap of "
            f"{settings.claim_cap} (you hold {open_held})", reason="CLAIM_CAP_EXCEEDED",
            metadata={"held": str(open_held), "requested": str(len(leads)), "cap": str(settings.claim_cap)})


def claim(lead: Lead, user_id: str, now: datetime) -> None:
    _take(lead, user_id, now)
    lead.record_assignment(model.CLAIM, None, user_id, now)
    lead.events.append(LeadClaimed(lead, now))


def check_reason(reason: str, settings: PoolSettings) -> str:
    reason = reason.strip()
    if reason not in settings.return_reasons:
        said = f"{reason!r} is not in the company's list" if reason else "required"
        raise InvalidArgument.field("reason", f"{said}: one of {', '.join(settings.return_reasons)}")
    return reason


def _open(lead: Lead) -> None:
    if lead.state != OPEN:
        raise FailedPrecondition(f"{lead.name} is already converted", reason="LEAD_ALREADY_CONVERTED",
                                 metadata={"resource": lead.name})


def return_to_pool(lead: Lead, reason: str, now: datetime) -> None:
    """The holder gives the lead back (no reclaim bar: that is for recycling)."""
    _open(lead)
    previous = _release(lead, now)
    lead.record_assignment(model.RETURN, previous, previous, now, reason=reason)
    lead.events.append(LeadReturned(lead, previous, reason, now))


def check_assign(leads: Sequence[Lead]) -> None:
    converted = [lead for lead in leads if lead.state != OPEN]
    if converted:
        raise FailedPrecondition(f"already converted: {_names(converted)}", reason="LEAD_ALREADY_CONVERTED",
                                 metadata={"resources": _names(converted)})


def check_assign_reason(reason: str) -> str:
    """AssignLeads' reason, trimmed; optional, at most ASSIGN_REASON_LIMIT characters."""
    reason = reason.strip()
    if len(reason) > ASSIGN_REASON_LIMIT:
        raise InvalidArgument.field("reason", f"at most {ASSIGN_REASON_LIMIT} characters")
    return reason


def assign(lead: Lead, assignee_id: str, by_user_id: str, now: datetime, reason: str = "") -> bool:
    """Give the lead to ``assignee_id``; False (nothing changed) when they already hold it."""
    if lead.owner_id == assignee_id:
        return False
    previous = lead.owner_id
    _take(lead, assignee_id, now)
    lead.record_assignment(model.ASSIGN, previous, by_user_id, now, reason=reason)
    lead.events.append(LeadAssigned(lead, previous, by_user_id, now, reason=reason))
    return True


# --- follow-ups ---------------------------------------------------------------------------------

def check_follow_up(kind: str, note: str) -> str:
    violations = []
    if kind not in FOLLOW_UP_KINDS:
        violations.append(FieldViolation("kind", f"one of {', '.join(FOLLOW_UP_KINDS)}"))
    note = note.strip()
    if len(note) > NOTE_LIMIT:
        violations.append(FieldViolation("note", f"at most {NOTE_LIMIT} characters"))
    if violations:
        raise InvalidArgument(violations)
    return note


def add_follow_up(lead: Lead, follow_up: FollowUp) -> None:
    """Record a follow-up by the holder; the first of a holding fixes its first-response time."""
    _open(lead)
    now = follow_up.create_time
    if lead.first_response_time is None and lead.hold_time is not None:
        lead.first_response_time = max(now - lead.hold_time, timedelta(0))
    lead.last_follow_up_time = now
    lead.recycle_warned_for = None
    lead.update_time = now
    lead.version += 1
    lead.events.append(FollowUpAdded(lead, follow_up))


# --- recycling ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecycleDue:
    rule: str
    time: datetime


def recycle_due(lead: Lead, settings: PoolSettings) -> RecycleDue | None:
    """When and by which rule the lead goes back to the pool; None when no rule applies.

    No follow-up for N days counts from the later of the holding's start and the last follow-up;
    not converted within M days counts from the holding's start. The earlier deadline wins.
    """
    if lead.state != OPEN or lead.owner_id is None or lead.hold_time is None:
        return None
    dues = []
    if settings.recycle_after_days_without_follow_up > 0:
        anchor = max(lead.hold_time, lead.last_follow_up_time or lead.hold_time)
        dues.append(RecycleDue(NO_FOLLOW_UP, anchor + timedelta(days=settings.recycle_after_days_without_follow_up)))
    if settings.recycle_after_days_unconverted > 0:
        dues.append(RecycleDue(UNCONVERTED, lead.hold_time + timedelta(days=settings.recycle_after_days_unconverted)))
    return min(dues, key=lambda d: d.time) if dues else None


def apply_recycle_rules(lead: Lead, settings: PoolSettings, now: datetime) -> str | None:
    """At ``now``: recycle the lead ("RECYCLED"), warn its owner once per deadline ("WARNED"), or nothing (None)."""
    due = recycle_due(lead, settings)
    if due is None:
        return None
    if now >= due.time:
        previous = _release(lead, now)
        until = now + timedelta(days=max(settings.reclaim_bar_days, 0))
        lead.reclaim_barred_until = until
        lead.record_assignment(model.RECYCLE, previous, None, now, reason=due.rule)
        lead.events.append(LeadRecycled(lead, previous, due.rule, until, now))
        return "RECYCLED"
    if now >= due.time - WARNING_AHEAD and lead.recycle_warned_for != due.time:
        # The warning changes no state anyone acts on, so the version (etag) stays.
        lead.recycle_warned_for = due.time
        lead.events.append(LeadRecycleWarning(lead, due.rule, due.time))
        return "WARNED"
    return None


# --- assignment rules ---------------------------------------------------------------------------

TERRITORY = "TERRITORY"
EXPERTISE = "EXPERTISE"
WORKLOAD = "WORKLOAD"
ROUND_ROBIN = "ROUND_ROBIN"


@dataclass(frozen=True)
class RepProfile:
    """What teams says about a rep that assignment needs (from UserCreated/UserUpdated)."""

    user_id: str
    territories: tuple[str, ...]
    expertise: tuple[str, ...]
    capacity: int  # 0: no limit
    update_time: datetime


@dataclass(frozen=True)
class Candidate:
    """A sales user as assignment sees them: profile, whether active, open leads held, last auto-assignment."""

    user_id: str
    active: bool
    territories: tuple[str, ...] = ()
    expertise: tuple[str, ...] = ()
    capacity: int = 0
    open_leads: int = 0
    last_assigned_time: datetime | None = None
    # Marked away (leave, travel): skipped like an inactive rep.
    away: bool = False


@dataclass(frozen=True)
class Choice:
    user_id: str
    # The rules that narrowed the field, in order (ROUND_ROBIN always decides last).
    rules: tuple[str, ...]


def _narrow(field: list[Candidate], keep, rule: str, rules: list[str]) -> list[Candidate]:
    """A rule narrows the field only when it leaves someone; otherwise it is passed over."""
    kept = [c for c in field if keep(c)]
    if kept and len(kept) < len(field):
        rules.append(rule)
        return kept
    return field


def choose_assignee(lead: Lead, candidates: Sequence[Candidate]) -> Choice | None:
    """The rep a pool lead goes to, by rules in order; None when no active rep has room.

    Inactive and away reps are skipped. Territory (``lead.region`` in the rep's territories), then expertise
    (``lead.industry`` in their expertise) narrow the field when anyone matches; workload drops reps
    holding as many open leads as their capacity (0 = no limit); round robin picks, among the rest,
    the one auto-assigned least recently (never first), then by id so the choice is deterministic.
    """
    rules: list[str] = []
    field = [c for c in candidates if c.active and not c.away]
    if lead.region:
        field = _narrow(field, lambda c: lead.region in c.territories, TERRITORY, rules)
    if lead.industry:
        field = _narrow(field, lambda c: lead.industry in c.expertise, EXPERTISE, rules)
    with_room = [c for c in field if c.capacity <= 0 or c.open_leads < c.capacity]
    if not with_room:
        return None
    if len(with_room) < len(field):
        rules.append(WORKLOAD)
    chosen = min(with_room, key=lambda c: (c.last_assigned_time is not None,
                                          c.last_assigned_time or datetime.min, c.user_id))
    return Choice(chosen.user_id, (*rules, ROUND_ROBIN))


def auto_assign(lead: Lead, choice: Choice, by_user_id: str, now: datetime) -> None:
    if lead.owner_id is not None:
        raise FailedPrecondition(f"{lead.name} is already held, not in the pool", reason="LEAD_HELD",
                                 metadata={"resources": lead.name})
    previous = lead.owner_id
    _take(lead, choice.user_id, now)
    lead.record_assignment(model.AUTO_ASSIGN, previous, by_user_id or None, now, rules=choice.rules)
    lead.events.append(LeadAssigned(lead, previous, by_user_id, now, choice.rules))


class RoundRobin:
    """``choose_assignee`` for many leads in a row (an import), each choice counted before the next:
    the same answers, without scanning every candidate per lead.

    The field a lead narrows to depends only on its region and industry, so it is computed once per
    pair; within a field the reps with room wait in a queue in ``choose_assignee``'s order, whose head is
    the next choice. A rep given a lead at a time later than every time seen goes to the back of each of
    its fields' queues (its key is then the largest); otherwise those queues are sorted again. A rep at
    capacity leaves them for the rest of the run.
    """

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        self.reps = {c.user_id: c for c in candidates if c.active and not c.away}
        self.open = {u: c.open_leads for u, c in self.reps.items()}
        self.last = {u: c.last_assigned_time for u, c in self.reps.items()}
        self.latest = max((t for t in self.last.values() if t is not None), default=None)
        self.fields: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, None], list[int]]] = {}
        self.fields_of: dict[str, list[tuple[dict[str, None], list[int]]]] = {u: [] for u in self.reps}

    def _full(self, user_id: str) -> bool:
        c = self.reps[user_id]
        return 0 < c.capacity <= self.open[user_id]

    def _key(self, user_id: str) -> tuple:
        last = self.last[user_id]
        return (last is not None, last or datetime.min, user_id)

    def _field(self, region: str, industry: str):
        found = self.fields.get((region, industry))
        if found is None:
            rules: list[str] = []
            field = list(self.reps.values())
            if region:
                field = _narrow(field, lambda c: region in c.territories, TERRITORY, rules)
            if industry:
                field = _narrow(field, lambda c: industry in c.expertise, EXPERTISE, rules)
            ids = [c.user_id for c in field]
            full = [sum(1 for u in ids if self._full(u))]
            # dicts keep insertion order: a queue that can also drop or requeue any rep in O(1)
            queue = dict.fromkeys(sorted((u for u in ids if not self._full(u)), key=self._key))
            found = (tuple(rules), queue, full)
            self.fields[(region, industry)] = found
            for u in ids:
                self.fields_of[u].append((queue, full))
        return found

    def choose(self, lead: Lead) -> Choice | None:
        rules, queue, full = self._field(lead.region, lead.industry)
        for user_id in queue:
            return Choice(user_id, (*rules, WORKLOAD, ROUND_ROBIN) if full[0] else (*rules, ROUND_ROBIN))
        return None

    def taken(self, user_id: str, now: datetime) -> None:
        """Count a lead given to ``user_id`` at ``now``."""
        was_full = self._full(user_id)
        self.open[user_id] += 1
        self.last[user_id] = now
        latest = self.latest is None or now > self.latest
        if latest:
            self.latest = now
        full_now = not was_full and self._full(user_id)
        for queue, full in self.fields_of[user_id]:
            if full_now:
                full[0] += 1
            if user_id not in queue:
                continue
            del queue[user_id]
            if full_now:
                continue
            if latest:
                queue[user_id] = None
            else:
                ordered = sorted([*queue, user_id], key=self._key)
                queue.clear()
                queue.update(dict.fromkeys(ordered))
