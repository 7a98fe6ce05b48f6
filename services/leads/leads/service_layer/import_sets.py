"""The set-based way of an import: the same decisions as row by row (``import_decisions.decide``, the reference),
with the new leads staged by one COPY into a temporary table and written, de-duplicated and announced by a
few statements over the whole table (``uow.import_sets``).

What runs where, and why:
- Validation and normalisation stay the domain's (``importing.parse_row``, ``dedupe.keys_of``), in Python over
  the file: phone numbers follow libphonenumber's metadata, and the folding of names Python's Unicode rules
  (NFKC, casefold, ``\\w``, ``str.split``'s whitespace), which PostgreSQL's functions match only in part.
- Flag mode (the default): every row not imported before is created, so a row's duplicate is a property of the
  set (the best lead, existing or earlier in the file, sharing its strongest key), found in SQL by joins on the
  de-duplication indexes and a running minimum over the file's earlier rows.
- Merge mode: a merge fills the existing lead, which changes what later rows match and which rows are created,
  so the rows are decided in Python in file order (``decide``), against the existing leads sharing a key with
  any row, read by one join of the staged keys with the de-duplication indexes; the new leads are then written
  as sets.
- Rows already imported: one join of the staged request ids.
- Scoring: a new lead's score depends only on a few of its values, computed once per combination
  (``scoring.score_new``) by the domain's rules.
- Assignment: each lead's choice changes the next one's (workload, round robin), so the rules run in Python in
  file order (``pool.RoundRobin``), in memory.
"""

from __future__ import annotations

from leads.domain import dedupe, importing, model, scoring
from leads.service_layer.import_decisions import Decided, Known, decide, write_merges
from leads.service_layer.unit_of_work import LeadsUnitOfWork


def write(uow: LeadsUnitOfWork, parsed: list[importing.Row], report: importing.ImportReport, how: Decided,
          progress) -> None:
    """Decide the rows (``report`` counts them) and write the new leads, the merges and their events."""
    staging = uow.import_sets
    keys = [dedupe.keys_of(row.lead) for row in parsed]
    staging.stage_keys([(seq, row.request_id, k) for seq, (row, k) in enumerate(zip(parsed, keys, strict=True))])
    taken = staging.taken()
    if how.mode == dedupe.MERGE:
        known = Known(keys=keys, taken=taken, existing=staging.existing_duplicates())
        new, changed, merges, events = decide(uow, parsed, report, how, progress, known)
        rows = [(seq, lead, request_id, k) for seq, (lead, request_id, k) in enumerate(new)]
        # The new leads' LeadCreated come from the staged rows; what merges caused, from these objects.
        events = [e for e in events if not isinstance(e, model.LeadCreated)]
    else:
        rows = _created(parsed, keys, taken, report, how)
        if progress:
            progress("deciding", len(parsed), len(parsed))
        changed, merges, events = {}, [], []
    staging.stage(rows)
    if progress:
        progress("staging", len(rows), len(rows))
    if how.mode != dedupe.MERGE:
        report.flagged = staging.flag_duplicates(how.now)
        if progress:
            progress("flagging", report.flagged, len(rows))
    staging.insert(how.now, how.score_settings.version)
    if progress:
        progress("writing leads", len(rows), len(rows))
    write_merges(uow, changed, merges, progress)
    staging.write_events(how.now, how.caller_id)
    uow.publish_bulk(events)


def _created(parsed: list[importing.Row], keys: list[dedupe.Keys], taken: set[str], report: importing.ImportReport,
             how: Decided) -> list[tuple[int, model.Lead, str, dedupe.Keys]]:
    """Flag mode: every row not imported before becomes a lead, scored and assigned in file order."""
    known: dict = {}
    rows = []
    for seq, (row, k) in enumerate(zip(parsed, keys, strict=True)):
        if row.request_id in taken:
            report.already_imported += 1
            continue
        lead = row.lead
        if how.channel and not lead.source:
            lead.source = how.channel
        scoring.score_new(lead, how.score_settings, how.now, known)
        if how.assigner is not None and how.assigner(lead):
            report.assigned += 1
        lead.events.clear()
        rows.append((seq, lead, row.request_id, k))
        report.accepted += 1
    return rows
