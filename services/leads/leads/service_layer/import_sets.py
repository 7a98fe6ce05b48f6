"""The set-based way of an import: the same decisions as row by row (``import_decisions.decide``, the reference),
with every row's request id, new lead id and keys staged by one COPY into a temporary table, checked and
de-duplicated by a few statements over it (``uow.import_sets``), the new leads written by one COPY and their
events by one ``INSERT ... SELECT`` from the leads written.

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
    staging.stage_keys([(seq, row.request_id, row.lead.id, k)
                        for seq, (row, k) in enumerate(zip(parsed, keys, strict=True))])
    taken = staging.taken()
    if how.mode == dedupe.MERGE:
        known = Known(keys=keys, taken=taken, existing=staging.existing_duplicates())
        new, changed, merges, events = decide(uow, parsed, report, how, progress, known)
        # The new leads' LeadCreated come from the rows written; what merges caused, from these objects.
        events = [e for e in events if not isinstance(e, model.LeadCreated)]
    else:
        rows = _created(parsed, keys, taken, report, how)
        if progress:
            progress("deciding", len(parsed), len(parsed))
        # Before the new leads are written: they are candidates as earlier rows of the file, not as leads.
        originals = staging.flag_duplicates(how.now)
        for seq, lead, _, _ in rows:
            lead.duplicate_of = originals.get(seq)
        report.flagged = len(originals)
        if progress:
            progress("flagging", len(originals), len(rows))
        new = [(lead, request_id, k) for _, lead, request_id, k in rows]
        changed, merges, events = {}, [], []
    uow.leads.copy_in(new)
    if progress:
        progress("writing leads", len(new), len(new))
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
