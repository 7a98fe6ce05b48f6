"""What an import decides for each row, shared by the row-by-row and the set-based ways: the settings it is
decided by, the rows decided in file order against the database and the rows before them (the merge mode's
way: each merge changes what later rows match), and the assignment rules over the new leads."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from leads.domain import dedupe, importing, model, pool, scoring
from leads.service_layer.capture import merge_row
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit.errors import PermissionDenied

# Rows decided per read of the database's candidates.
IMPORT_BATCH = 5000


@dataclass(frozen=True)
class Decided:
    """What every row of one import is decided by: the settings read once, the assignment rules, the
    campaign's channel (for rows without a source), who imports, and the import's time."""

    mode: str
    score_settings: scoring.ScoringSettings
    assigner: ImportAssigner | None
    channel: str
    caller_id: str | None
    now: datetime


def write_merges(uow: LeadsUnitOfWork, changed: dict[str, tuple[model.Lead, int]], merges: list[dict],
                 progress) -> None:
    """The existing leads merges filled, and the merge rows."""
    uow.leads.update_many([(lead, read) for lead, read in changed.values() if lead.version != read])
    uow.leads.add_merges(merges)
    if progress:
        progress("writing merges", len(merges), len(merges))


@dataclass(frozen=True)
class Known:
    """What the set-based way reads once for the whole file instead of a batch at a time: the rows' keys (in
    file order), the request ids already taken, and every existing lead sharing a key with a row not taken."""

    keys: list[dedupe.Keys]
    taken: set[str]
    existing: list[model.Lead]


New = list[tuple[model.Lead, str, dedupe.Keys]]


def decide(uow: LeadsUnitOfWork, parsed: list[importing.Row], report: importing.ImportReport, how: Decided,
           progress, known: Known | None = None) -> tuple[New, dict[str, tuple[model.Lead, int]], list[dict], list]:
    """Each row in file order against the database's leads and the rows before it: skipped (already imported),
    merged, or created (flagged, scored, assigned). The new leads with their request ids and keys, the existing
    leads merged into (with the version read), the merge rows and the events."""
    mode, score_settings, assigner, caller_id, now = how.mode, how.score_settings, how.assigner, how.caller_id, how.now
    total = len(parsed)
    new: list[tuple[model.Lead, str, dedupe.Keys]] = []
    changed: dict[str, tuple[model.Lead, int]] = {}  # existing leads merged into: (lead, version read)
    merges: list[dict] = []
    events: list = []
    # Leads seen so far by key: the database's (fetched per batch) and this import's own new ones. Every lead
    # with a key is a candidate, so the choice among several (dedupe.find_duplicate) does not depend on the
    # order the database returned them in.
    by_key: dict[tuple[str, str], dict[str, model.Lead]] = {}
    created_ids: set[str] = set()
    scored: dict = {}  # scores of new leads by what they depend on (scoring.score_new)

    def key_list(k: dedupe.Keys) -> list[tuple[str, str]]:
        return [key for key in (("p", k.phone), ("e", k.email), ("c", f"{k.company}\x00{k.region}"
                                                                 if k.company else "")) if key[1]]

    def index(lead: model.Lead, k: dedupe.Keys) -> None:
        for key in key_list(k):
            by_key.setdefault(key, {}).setdefault(lead.id, lead)

    # Keys some other row or an existing lead has (None: not known in advance). A row with none of them finds no
    # candidate and no later row finds it, so it is created without looking or being indexed.
    shared: set[tuple[str, str]] | None = None
    if known is not None:
        # A row's candidates are the leads sharing one of its keys, whichever batch fetched them.
        for lead in known.existing:
            index(lead, dedupe.keys_of(lead))
        counts = Counter(key for row, k in zip(parsed, known.keys, strict=True) if row.request_id not in known.taken
                         for key in key_list(k))
        shared = {key for key, n in counts.items() if n > 1} | set(by_key)
    for start in range(0, total, IMPORT_BATCH):
        batch = parsed[start:start + IMPORT_BATCH]
        if known is not None:
            taken, batch_keys = known.taken, known.keys[start:start + IMPORT_BATCH]
        else:
            taken = uow.leads.taken_request_ids([r.request_id for r in batch])
            batch_keys = [dedupe.keys_of(r.lead) for r in batch]
            for lead in uow.leads.duplicate_candidates([k for r, k in zip(batch, batch_keys, strict=True)
                                                        if r.request_id not in taken]):
                index(lead, dedupe.keys_of(lead))
        for row, k in zip(batch, batch_keys, strict=True):
            if row.request_id in taken:
                report.already_imported += 1
                continue
            keys = key_list(k)
            lone = shared is not None and not any(key in shared for key in keys)
            candidates = [] if lone else list({lead.id: lead for key in keys for lead in by_key.get(key, {}).values()}
                                              .values())
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
                merges.append(merge_row(merged, row.request_id))
                report.merged += 1
                continue
            if found:
                dedupe.flag(row.lead, found[0], found[1])
                report.flagged += 1
            if how.channel and not row.lead.source:
                row.lead.source = how.channel
            scoring.score_new(row.lead, score_settings, now, scored)
            if assigner is not None and assigner(row.lead):
                report.assigned += 1
            new.append((row.lead, row.request_id, k))
            created_ids.add(row.lead.id)
            events.extend(row.lead.events)
            row.lead.events.clear()
            if not lone:
                index(row.lead, k)
            report.accepted += 1
        if progress:
            progress("deciding", min(start + IMPORT_BATCH, total), total)
    return new, changed, merges, events


class ImportAssigner:
    """The assignment rules over an import's new pool leads (``pool.RoundRobin``: the candidates read and
    locked once, each lead given out counted before the next)."""

    def __init__(self, uow: LeadsUnitOfWork, caller_id: str | None, candidates: list[pool.Candidate],
                 now: datetime) -> None:
        self.uow = uow
        self.by = caller_id
        self.rules = pool.RoundRobin(candidates)
        self.assigned: dict[str, datetime] = {}
        self.tick = now

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


def import_assigner(uow: LeadsUnitOfWork, caller_id: str | None, now: datetime) -> ImportAssigner:
    """Sales ops / admin (or the operator's CLI) assign among every rep, a department head among theirs."""
    if caller_id is None:
        return ImportAssigner(uow, None, uow.reps.candidates(None), now)
    viewer = uow.org.viewer(caller_id)
    if not (viewer.sees_everything or viewer.headed_paths):
        raise PermissionDenied("only sales ops, admins and department heads may auto-assign leads")
    below = None if viewer.sees_everything else viewer.headed_paths
    return ImportAssigner(uow, caller_id, uow.reps.candidates(below), now)
