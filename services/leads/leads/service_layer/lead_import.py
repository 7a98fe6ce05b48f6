"""Import: a table of leads in one transaction, each row validated like CreateLead and de-duplicated
against the database and the rows before it.

The interface is ``import_leads(ImportLeads, caller_id, uow, progress, now) -> ImportReport``: a
set-based path (COPY to a temporary table, then SQL) can sit beside this per-row one behind it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leads.domain import dedupe, importing, model, pool, scoring
from leads.service_layer.callers import check_new_owner
from leads.service_layer.capture import merge_row
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, names, table_import
from shangji_kit.errors import FieldViolation, InvalidArgument, PermissionDenied


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


def _checked(cmd: ImportLeads, caller_id: str | None) -> tuple[dict[str, int], str | None, str | None]:
    """The column positions, the owner and the campaign id; every bad field of the header and every bad row
    number at once (INVALID_ARGUMENT, nothing read or written)."""
    violations: list[FieldViolation] = []
    positions: dict[str, int] = {}
    owner_id = campaign_id = None
    try:
        positions = importing.column_map(cmd.columns)
    except InvalidArgument as exc:
        violations += exc.violations
    try:
        owner_id = _import_owner(cmd, caller_id)
    except InvalidArgument as exc:
        violations += exc.violations
    if cmd.auto_assign and not cmd.to_pool:
        violations.append(FieldViolation("auto_assign", "only for an import into the pool"))
    if cmd.campaign:
        try:
            campaign_id = names.parse(cmd.campaign, "campaigns", "campaign")
        except InvalidArgument as exc:
            violations += exc.violations
    violations += table_import.check_row_numbers(cmd.rows)
    if violations:
        raise InvalidArgument(violations)
    return positions, owner_id, campaign_id


def import_leads(cmd: ImportLeads, caller_id: str | None, uow: LeadsUnitOfWork, progress=None,
                 now: datetime | None = None) -> importing.ImportReport:
    """Import a table of leads in one transaction: each row validated like CreateLead, de-duplicated
    against the database and the rows before it (merge or flag, per ``dedupe_mode``), rows an earlier
    import of the same content took skipped (their request ids). ``all_or_nothing``: any rejected row
    writes nothing. ``caller_id`` None: an operator's import (the CLI), trusted to name any owner.
    ``progress(stage, done, total)`` is called as rows are checked ("checking") and decided ("deciding")."""
    caller_id = caller.user_id(caller_id) if caller_id is not None else None
    positions, owner_id, campaign_id = _checked(cmd, caller_id)
    now = now or datetime.now(UTC)
    report = importing.ImportReport(content_sha256=table_import.content_sha256(cmd.columns, cmd.rows))
    parsed: list[importing.Row] = []
    for i, (row_number, values) in enumerate(cmd.rows, start=1):
        if progress and (i % IMPORT_BATCH == 0 or i == len(cmd.rows)):
            progress("checking", i, len(cmd.rows))
        if table_import.is_blank(values):
            continue
        result = importing.parse_row(row_number, values, positions, id=str(uuid.uuid4()), owner_id=owner_id, now=now,
                                     campaign_id=campaign_id, imported_by=caller_id)
        if isinstance(result, list):
            report.rejections.extend(result)
        else:
            parsed.append(importing.Row(row_number, table_import.row_request_id(report.content_sha256, row_number),
                                        result))
    if cmd.all_or_nothing and report.rejections:
        return report
    total = len(parsed)
    with uow:
        if caller_id is not None and owner_id is not None and owner_id != caller_id:
            check_new_owner(uow, caller_id, owner_id)
        assigner = _import_assigner(uow, caller_id, now) if cmd.auto_assign else None
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
                    merges.append(merge_row(merged, row.request_id))
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


def _import_assigner(uow: LeadsUnitOfWork, caller_id: str | None, now: datetime) -> _ImportAssigner:
    """Sales ops / admin (or the operator's CLI) assign among every rep, a department head among theirs."""
    if caller_id is None:
        return _ImportAssigner(uow, None, uow.reps.candidates(None), now)
    viewer = uow.org.viewer(caller_id)
    if not (viewer.sees_everything or viewer.headed_paths):
        raise PermissionDenied("only sales ops, admins and department heads may auto-assign leads")
    below = None if viewer.sees_everything else viewer.headed_paths
    return _ImportAssigner(uow, caller_id, uow.reps.candidates(below), now)
