"""A set-based import in PostgreSQL: every valid row's request id, new lead id and keys staged by one COPY into a
temporary table; rows already imported, the existing leads sharing a key and (flag mode) each row's duplicate
found by a few statements over it; the new leads written by one COPY into ``leads`` (``LeadRepository.copy_in``,
as row by row) and their events by one ``INSERT ... SELECT`` from them.

The staging table lives for the transaction (``ON COMMIT DROP``). Ids order like the domain's strings: a
uuid compares by its bytes, which is the order of its lower-case hex text.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter

from leads.adapters.event_encoder import _ts_json
from leads.adapters.lead_repository import _to_lead as lead_of_row
from leads.adapters.orm import leads
from leads.domain import dedupe
from leads.domain.model import Lead
from shangji.leads.v1 import events_pb2
from shangji_kit.outbox import Outbox

_CREATE_KEYS = sa.text(
    "CREATE TEMP TABLE import_keys (seq integer PRIMARY KEY, request_id text NOT NULL, id uuid NOT NULL, "
    "phone text NOT NULL, email text NOT NULL, company_key text NOT NULL, region_key text NOT NULL, "
    "taken boolean NOT NULL DEFAULT false, matched_on text) ON COMMIT DROP")
_TAKEN = sa.text(
    "UPDATE import_keys k SET taken = true WHERE EXISTS (SELECT 1 FROM leads WHERE request_id = k.request_id) "
    "OR EXISTS (SELECT 1 FROM lead_merges WHERE request_id = k.request_id) RETURNING k.request_id")
# Every existing lead sharing a key with a row not imported before: one probe of a de-duplication index per key.
_SHARING = " UNION ".join(
    f"SELECT l.id FROM import_keys s JOIN leads l ON l.{join} AND l.{nonempty} WHERE s.{nonempty} AND NOT s.taken"
    for join, nonempty in (("phone = s.phone", "phone <> ''"), ("email = s.email", "email <> ''"),
                           ("company_key = s.company_key AND l.region_key = s.region_key", "company_key <> ''")))
_EXISTING = sa.text(f"SELECT {', '.join('l.' + c.name for c in leads.c)} FROM leads l WHERE l.id IN ({_SHARING})"
                    ).columns(*leads.c)

# The strongest key an earlier lead shares decides the match (phone, then email, then company within the
# region); among the leads sharing it an open one beats a converted one, then the oldest, then the smallest id
# (dedupe.find_duplicate). The file's own earlier rows are all open and created now, so among them the smallest
# id wins: a running minimum over the rows before, per key.
_KEYS = ((0, dedupe.PHONE, "phone = s.phone", "phone <> ''", "phone"),
         (1, dedupe.EMAIL, "email = s.email", "email <> ''", "email"),
         (2, dedupe.COMPANY, "company_key = s.company_key AND l.region_key = s.region_key", "company_key <> ''",
          "company_key, region_key"))


def _candidates() -> str:
    parts = []
    for rank, _, join, nonempty, partition in _KEYS:
        parts.append(f"SELECT s.seq, {rank} AS rank, l.state <> 'OPEN' AS closed, l.create_time, l.id "
                     f"FROM import_keys s JOIN leads l ON l.{join} AND l.{nonempty} WHERE s.{nonempty} "
                     "AND NOT s.taken")
        parts.append(f"SELECT seq, {rank}, false, CAST(:now AS timestamptz), CAST(first AS uuid) FROM ("
                     f"SELECT seq, min(id::text COLLATE \"C\") OVER (PARTITION BY {partition} ORDER BY seq "
                     f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS first FROM import_keys "
                     f"WHERE {nonempty} AND NOT taken) f WHERE first IS NOT NULL")
    return " UNION ALL ".join(parts)


_MATCHED = "CASE d.rank " + " ".join(f"WHEN {rank} THEN '{name}'" for rank, name, *_ in _KEYS) + " END"
_FLAG = sa.text(
    f"UPDATE import_keys r SET matched_on = {_MATCHED} FROM ("
    f"SELECT DISTINCT ON (seq) seq, rank, id FROM ({_candidates()}) c ORDER BY seq, rank, closed, create_time, id"
    ") d WHERE r.seq = d.seq RETURNING r.seq, CAST(d.id AS text)")


def _ts(column: str) -> str:
    """A timestamp as proto3 JSON writes it (UTC, "Z", 0, 3 or 6 fractional digits), like the encoder's: one
    to_char per value (the leads' times are distinct ticks when assigned)."""
    text = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    return (f"(SELECT CASE WHEN right(t, 6) = '000000' THEN left(t, 19) WHEN right(t, 3) = '000' THEN left(t, 23) "
            f"ELSE t END || 'Z' FROM (SELECT {text} AS t) AS ts)")


# The lead as ``event_encoder.lead_json`` writes a lead as imported: proto3 JSON, empty fields left out. An
# assigned lead's hold and update times are the same tick.
_LEAD_JSON = (
    "jsonb_strip_nulls(jsonb_build_object('name', 'leads/' || id, 'id', CAST(id AS text), "
    "'company', NULLIF(company, ''), 'contactName', NULLIF(contact_name, ''), 'phone', NULLIF(phone, ''), "
    "'email', NULLIF(email, ''), 'region', NULLIF(region, ''), 'source', NULLIF(source, ''), "
    "'owner', 'users/' || owner_id, 'state', 'OPEN', 'createTime', CAST(:now_json AS text), "
    "'updateTime', updated, 'etag', '1', 'industry', NULLIF(industry, ''), "
    f"'holdTime', CASE WHEN hold_time IS NULL THEN NULL WHEN hold_time = update_time THEN updated "
    f"ELSE {_ts('hold_time')} END, 'duplicateOf', 'leads/' || duplicate_of, 'score', NULLIF(score, 0), "
    "'qualification', qualification, 'scoreParts', CASE WHEN score_parts = '[]' THEN NULL "
    # A part's JSON leaves out points of 0 (proto3 JSON); ``leads.score_parts`` keeps them.
    "WHEN score_parts @> '[{\"points\": 0}]' THEN (SELECT jsonb_agg(CASE WHEN p -> 'points' = '0' THEN p - 'points' "
    "ELSE p END ORDER BY n) FROM jsonb_array_elements(score_parts) WITH ORDINALITY AS e(p, n)) ELSE score_parts END, "
    "'campaign', 'campaigns/' || campaign_id, 'contactTitle', NULLIF(contact_title, ''), "
    "'companySize', NULLIF(company_size, ''), 'notes', NULLIF(notes, '')))")

_CREATED = events_pb2.LeadCreated.DESCRIPTOR.full_name
_FLAGGED = events_pb2.LeadFlaggedDuplicate.DESCRIPTOR.full_name
# Each row's LeadCreated, then its LeadFlaggedDuplicate when flagged: the order the row-by-row path writes them.
_EVENTS = (
    f"SELECT '{_CREATED}' AS type, 'leads/' || id AS subject, jsonb_build_object('lead', lead) || "
    "jsonb_strip_nulls(jsonb_build_object('createdBy', CAST(:created_by AS text), 'imported', true)) AS data, "
    "2 * seq AS ord FROM staged "
    f"UNION ALL SELECT '{_FLAGGED}', 'leads/' || id, jsonb_build_object('lead', lead, 'duplicateOf', "
    "'leads/' || duplicate_of, 'matchedOn', matched_on), 2 * seq + 1 FROM staged WHERE duplicate_of IS NOT NULL")
# The new leads as written: the staged ids in ``leads`` with the row's request id (a merged or already imported
# row wrote no lead).
_EVENTS_SQL = (f"WITH staged AS (SELECT seq, id, duplicate_of, matched_on, {_LEAD_JSON} AS lead FROM ("
               f"SELECT k.seq, k.matched_on, l.*, {_ts('l.update_time')} AS updated FROM import_keys k "
               f"JOIN leads l ON l.id = k.id AND l.request_id = k.request_id WHERE NOT k.taken) AS r) {_EVENTS}")



class ImportStaging:
    """One import's new leads, staged and written as sets in the unit of work's transaction."""

    def __init__(self, session: sa.Connection, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox

    def stage_keys(self, rows: list[tuple[int, str, str, dedupe.Keys]]) -> None:
        """COPY every valid row's position, request id, new lead id and keys into a temporary table."""
        # These statements run once over many rows: compiling them to machine code (300 ms a statement, measured)
        # does not pay.
        self.session.execute(sa.text("SET LOCAL jit = off"))
        self.session.execute(_CREATE_KEYS)
        raw = self.session.connection.driver_connection
        with raw.cursor() as cur, cur.copy("COPY import_keys (seq, request_id, id, phone, email, company_key, "
                                           "region_key) FROM STDIN", writer=QueuedLibpqWriter(cur)) as copy:
            for seq, request_id, lead_id, k in rows:
                copy.write_row((seq, request_id, lead_id, k.phone, k.email, k.company, k.region))
        self.session.execute(sa.text("ANALYZE import_keys"))

    def taken(self) -> set[str]:
        """The staged request ids a lead or a merge already carries (rows an earlier import took)."""
        return set(self.session.execute(_TAKEN).scalars())

    def existing_duplicates(self) -> list[Lead]:
        """Every existing lead sharing a key with a staged row not taken before."""
        return [lead_of_row(row) for row in self.session.execute(_EXISTING)]

    def flag_duplicates(self, now: datetime) -> dict[int, str]:
        """For each staged row not taken before that duplicates an existing lead or an earlier such row, the
        original's id (by position in the file); the key that matched is kept for ``write_events``."""
        return {seq: original for seq, original in self.session.execute(_FLAG, {"now": now})}

    def write_events(self, now: datetime, created_by: str | None) -> int:
        """LeadCreated per new lead (as written in ``leads``) and LeadFlaggedDuplicate per flagged one, in file
        order, by one INSERT ... SELECT into the outbox."""
        return self.outbox.insert_selected(self.session, _EVENTS_SQL, {
            "now_json": _ts_json(now), "created_by": f"users/{created_by}" if created_by else None})
