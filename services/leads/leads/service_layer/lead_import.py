"""Import: a table of leads in one transaction, each row validated like CreateLead and de-duplicated
against the database and the rows before it.

The interface is ``import_leads(ImportLeads, caller_id, uow, progress, now) -> ImportReport``: a
set-based path (COPY to a temporary table, then SQL) can sit beside this per-row one behind it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from leads.domain import importing
from leads.service_layer import import_decisions, import_sets
from leads.service_layer.callers import check_new_owner
from leads.service_layer.import_decisions import IMPORT_BATCH
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, gc_pause, names, table_import
from shangji_kit.errors import FieldViolation, InvalidArgument


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


# From this many valid rows an import goes the set-based way (a temporary table costs a few statements).
SET_PATH_MIN_ROWS = 200


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
                 now: datetime | None = None, *, new_id: Callable[[], str] | None = None,
                 by_sets: bool | None = None) -> importing.ImportReport:
    """Import a table of leads in one transaction: each row validated like CreateLead, de-duplicated
    against the database and the rows before it (merge or flag, per ``dedupe_mode``), rows an earlier
    import of the same content took skipped (their request ids). ``all_or_nothing``: any rejected row
    writes nothing. ``caller_id`` None: an operator's import (the CLI), trusted to name any owner.
    ``progress(stage, done, total)`` is called as rows are checked ("checking") and decided ("deciding").

    A file of ``SET_PATH_MIN_ROWS`` valid rows or more goes the set-based way (``import_sets``: staged in a
    temporary table, written by a few statements); a smaller one row by row, which is also the reference the
    set-based way is tested against (``by_sets`` chooses explicitly). ``new_id`` makes the new leads' ids."""
    # The rows' objects live until the commit: the cyclic collector re-scanning them was a quarter of the CPU.
    with gc_pause.paused():
        return _import_leads(cmd, caller_id, uow, progress, now, new_id, by_sets)


def _import_leads(cmd: ImportLeads, caller_id: str | None, uow: LeadsUnitOfWork, progress, now: datetime | None,
                  new_id: Callable[[], str] | None, by_sets: bool | None) -> importing.ImportReport:
    caller_id = caller.user_id(caller_id) if caller_id is not None else None
    positions, owner_id, campaign_id = _checked(cmd, caller_id)
    now = now or datetime.now(UTC)
    new_id = new_id or (lambda: str(uuid.uuid4()))
    report = importing.ImportReport(content_sha256=table_import.content_sha256(cmd.columns, cmd.rows))
    parsed: list[importing.Row] = []
    for i, (row_number, values) in enumerate(cmd.rows, start=1):
        if progress and (i % IMPORT_BATCH == 0 or i == len(cmd.rows)):
            progress("checking", i, len(cmd.rows))
        if table_import.is_blank(values):
            continue
        result = importing.parse_row(row_number, values, positions, id=new_id(), owner_id=owner_id, now=now,
                                     campaign_id=campaign_id, imported_by=caller_id)
        if isinstance(result, list):
            report.rejections.extend(result)
        else:
            parsed.append(importing.Row(row_number, table_import.row_request_id(report.content_sha256, row_number),
                                        result))
    if cmd.all_or_nothing and report.rejections:
        return report
    if by_sets is None:
        by_sets = len(parsed) >= SET_PATH_MIN_ROWS
    with uow:
        if caller_id is not None and owner_id is not None and owner_id != caller_id:
            check_new_owner(uow, caller_id, owner_id)
        assigner = import_decisions.import_assigner(uow, caller_id, now) if cmd.auto_assign else None
        channel = ""
        if campaign_id is not None:
            campaign = uow.campaigns.get(campaign_id)
            if campaign is None:
                raise InvalidArgument.field("campaign", f"campaigns/{campaign_id} does not exist")
            channel = campaign.channel
        how = import_decisions.Decided(mode=uow.pool_settings.get().dedupe_mode,
                                       score_settings=uow.pool_settings.scoring(), assigner=assigner, channel=channel,
                                       caller_id=caller_id, now=now)
        if by_sets:
            import_sets.write(uow, parsed, report, how, progress)
        else:
            events = _row_by_row(uow, parsed, report, how, progress)
        if assigner is not None:
            assigner.remember()
        report.committed = True
        imported = importing.LeadsImported(report=report, file_name=cmd.file_name, imported_by=caller_id,
                                           import_time=now)
        if by_sets:
            uow.publish_bulk([imported])
        else:
            events.append(imported)
            uow.publish_bulk(events)
        if progress:
            progress("writing events", 1, 1)
        uow.commit()
    return report


def _row_by_row(uow: LeadsUnitOfWork, parsed: list[importing.Row], report: importing.ImportReport,
                how: import_decisions.Decided, progress) -> list:
    """Decide and write each row in turn (batches of reads, one COPY of the new leads); the events to publish."""
    new, changed, merges, events = import_decisions.decide(uow, parsed, report, how, progress)
    uow.leads.copy_in(new)
    if progress:
        progress("writing leads", len(new), len(new))
    import_decisions.write_merges(uow, changed, merges, progress)
    return events
