"""The lead aggregate in PostgreSQL: leads, their follow-ups, behaviours, merges, handovers and assignment
history."""

from __future__ import annotations

import functools
import json
import operator
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.dialects import postgresql as pg

from leads.adapters import lists
from leads.adapters.keyset import newest_first
from leads.adapters.orm import (
    follow_ups,
    lead_assignments,
    lead_behaviours,
    lead_merges,
    leads,
    org,
    owner_changes,
)
from leads.domain import dedupe
from leads.domain.model import HANDOVER, OPEN, Assignment, Lead
from leads.domain.pool import WARNING_AHEAD, FollowUp, PoolSettings
from leads.domain.scoring import ScorePart
from shangji_kit import filtering, ordering, plans, visibility
from shangji_kit.errors import Aborted
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page
from shangji_kit.roles import SALES_ROLES
from shangji_kit.statements import insert_or_skip

_COLUMNS = ("id", "company", "contact_name", "phone", "email", "region", "source", "owner_id", "state",
            "convert_time", "version", "create_time", "update_time", "industry", "hold_time", "last_follow_up_time",
            "first_response_time", "previous_owner_id", "reclaim_barred_until", "recycle_warned_for", "duplicate_of",
            "customer_id", "campaign_id", "contact_title", "company_size", "flags", "notes", "behaviour_counts",
            "score", "score_parts", "qualification", "scored_with")
_IMMUTABLE = ("id", "create_time")
_VALUES = operator.attrgetter(*_COLUMNS)
_UUID = pg.UUID(as_uuid=False)


def _parts_json(parts: tuple[ScorePart, ...]) -> list[dict]:
    return [{"kind": p.kind, "key": p.key, "value": p.value, "points": p.points} for p in parts]


def _to_lead(row) -> Lead:
    values = {c: getattr(row, c) for c in _COLUMNS}
    values["flags"] = tuple(values["flags"] or ())
    values["behaviour_counts"] = dict(values["behaviour_counts"] or {})
    values["score_parts"] = tuple(ScorePart(**p) for p in values["score_parts"] or ())
    return Lead(**values)


_INSERT = insert_or_skip(leads, [*_COLUMNS, "request_id", "company_key", "region_key"], returning="id")  # prebuilt


def _row(lead: Lead) -> dict:
    """The lead's columns with its de-duplication keys."""
    values = {c: getattr(lead, c) for c in _COLUMNS}
    values["flags"] = list(lead.flags)
    values["score_parts"] = _parts_json(lead.score_parts)
    keys = dedupe.keys_of(lead)
    values["company_key"] = keys.company
    values["region_key"] = keys.region
    return values


# One encoder for every outbox row of a bulk write (json.dumps with options builds a new one per call).
_json = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def _days(n: int) -> sa.ColumnElement:
    return sa.literal(timedelta(days=n), sa.Interval)


def sales_user_exists(user_id: str) -> sa.Exists:
    u = org.users
    return sa.exists().where(u.c.user_id == user_id, u.c.active,
                             u.c.roles.overlap(sa.literal(list(SALES_ROLES), pg.ARRAY(sa.Text))))


# Who sees a lead, built once per viewer shape. The pool is open to every active sales user (an uncorrelated
# EXISTS: one init plan per query).
LEAD_RULE = visibility.VisibleRule(org, leads.c.owner_id, extra=[sa.and_(
    leads.c.owner_id.is_(None), sales_user_exists(visibility.viewer_param(org.users.c.user_id.type)))])


def _visible(viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
    """The rule with ``viewer``'s values bound, for statements built per call (hot reads use ``LEAD_RULE``)."""
    return LEAD_RULE.bound(viewer)


# A lead by id under the rule (and locked, for a change), built once: ConvertLead and the pool's moves read one.
_BY_ID = leads.c.id == sa.bindparam("id", type_=leads.c.id.type)
_GET_VISIBLE = {False: LEAD_RULE.per_shape(lambda visible: sa.select(leads).where(_BY_ID, visible), one=True),
                True: LEAD_RULE.per_shape(lambda visible: sa.select(leads).where(_BY_ID, visible)
                                      .with_for_update(of=leads), one=True)}


_LOCK_KEYS = sa.text("SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(CAST(:keys AS text[])) "
                     "WITH ORDINALITY AS t(k, n) ORDER BY n")


_TEXTS = pg.ARRAY(sa.Text)
# De-duplication candidates, built once (building them per call was a third of CreateLead's CPU in the front).
# Phone and email in one query: an OR of the two partial indexes is a BitmapOr.
_PHONE_RULE = sa.and_(leads.c.phone != "", leads.c.phone == sa.any_(sa.bindparam("phones", type_=_TEXTS)))
_EMAIL_RULE = sa.and_(leads.c.email != "", leads.c.email == sa.any_(sa.bindparam("emails", type_=_TEXTS)))
_BY_CONTACT = {(True, True): sa.select(leads).where(sa.or_(_PHONE_RULE, _EMAIL_RULE)),
               (True, False): sa.select(leads).where(_PHONE_RULE),
               (False, True): sa.select(leads).where(_EMAIL_RULE)}
_WANTED = sa.func.unnest(sa.bindparam("company_keys", type_=_TEXTS), sa.bindparam("region_keys", type_=_TEXTS)
                         ).table_valued("ck", "rk").render_derived(name="wanted")
_BY_COMPANY = (sa.select(leads).select_from(leads.join(
    _WANTED, sa.and_(leads.c.company_key == _WANTED.c.ck, leads.c.region_key == _WANTED.c.rk)))
    .where(leads.c.company_key != ""))


_MATCH = ("match_id", "expected_version")

_ASSIGNMENT_COLUMNS = ("id", "lead_id", "previous_owner_id", "new_owner_id", "actor_id", "kind", "reason", "rules",
                       "change_time")
# Keyed writes and reads, built once; PostgreSQL may keep their plans (``plans``).
_INSERT_ASSIGNMENT = plans.generic(sa.insert(lead_assignments))
_GET = plans.generic(sa.select(leads).where(_BY_ID))


def _assignment_row(a: Assignment) -> dict:
    return {"id": a.id, "lead_id": a.lead_id, "previous_owner_id": a.previous_owner_id,
            "new_owner_id": a.new_owner_id, "actor_id": a.actor_id, "kind": a.kind, "reason": a.reason,
            "rules": list(a.rules), "change_time": a.change_time}


def _to_assignment(row) -> Assignment:
    return Assignment(id=str(row.id), lead_id=str(row.lead_id), previous_owner_id=_text(row.previous_owner_id),
                      new_owner_id=_text(row.new_owner_id), actor_id=_text(row.actor_id), kind=row.kind,
                      reason=row.reason, rules=tuple(row.rules or ()), change_time=row.change_time)


def _text(value) -> str | None:
    return None if value is None else str(value)


@functools.cache
def _update_statement(columns: tuple[str, ...]) -> sa.Update:
    """A lead's write-back, built once per set of columns (it is the same set on every call)."""
    return plans.generic(sa.update(leads)
                         .where(leads.c.id == sa.bindparam("match_id"),
                                leads.c.version == sa.bindparam("expected_version"))
                         .values({c: sa.bindparam(c, type_=leads.c[c].type) for c in columns}))


def _listed(viewer: visibility.Viewer, query: ListQuery, in_pool: bool) -> sa.Select:
    """The leads a list shows ``viewer`` (held, or the pool's) that pass ``query``'s filter, unordered."""
    held = leads.c.owner_id.is_(None) if in_pool else leads.c.owner_id.is_not(None)
    return sa.select(leads).where(held, _visible(viewer), filtering.compile_filter(query.filter, lists.LEAD_FIELDS))


class LeadRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, lead: Lead) -> None:
        values = _row(lead)
        # Only an import's rows carry a request id here (``copy_in``); a create's is the caller's (request_ids).
        values["request_id"] = None
        self.session.execute(_INSERT, values)
        self._write_assignments(lead)

    def _write_assignments(self, lead: Lead) -> None:
        """The changes of holder the lead recorded, into its history in this transaction."""
        if lead.assignments:
            rows = [_assignment_row(a) for a in lead.assignments]
            # One row (every call but a batch) as plain parameters: executemany costs more for one.
            self.session.execute(_INSERT_ASSIGNMENT, rows[0] if len(rows) == 1 else rows)
            lead.assignments.clear()

    def assignments_of(self, lead_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Assignment]:
        """The lead's changes of holder, newest first (change_time DESC, id); ``after`` is the last row seen."""
        stmt = newest_first(lead_assignments, sa.select(lead_assignments).where(lead_assignments.c.lead_id == lead_id),
                            after, time=lead_assignments.c.change_time)
        return [_to_assignment(r) for r in self.session.execute(stmt.limit(limit))]

    def lock_keys(self, keys: dedupe.Keys) -> None:
        """Serialise captures sharing a de-duplication key until commit, so two cannot both miss each other."""
        wanted = sorted({f"p:{keys.phone}" if keys.phone else "", f"e:{keys.email}" if keys.email else "",
                         f"c:{keys.company}:{keys.region}" if keys.company else ""} - {""})
        if wanted:
            # One round trip for all keys, taken in sorted order so two captures cannot deadlock.
            self.session.execute(_LOCK_KEYS, {"keys": ["leads.dedupe:" + k for k in wanted]})

    def duplicate_candidates(self, keys: list[dedupe.Keys]) -> list[Lead]:
        """Every lead sharing a phone, an email, or a company key within a region with any of ``keys``:
        three queries, one per partial index (a UNION of them let the planner scan the whole table)."""
        phones = sorted({k.phone for k in keys if k.phone})
        emails = sorted({k.email for k in keys if k.email})
        pairs = sorted({k.company_region for k in keys if k.company_region})
        found: dict[str, Lead] = {}
        runs = []
        if phones or emails:
            runs.append((_BY_CONTACT[(bool(phones), bool(emails))], {"phones": phones, "emails": emails}))
        if pairs:
            runs.append((_BY_COMPANY, {"company_keys": [p[0] for p in pairs], "region_keys": [p[1] for p in pairs]}))
        for stmt, params in runs:
            for row in self.session.execute(stmt, params):
                if row.id not in found:
                    found[row.id] = _to_lead(row)
        return list(found.values())

    def taken_request_ids(self, request_ids: list[str]) -> set[str]:
        """Those of ``request_ids`` a lead or a merge already carries."""
        wanted = sa.literal(request_ids, pg.ARRAY(sa.Text))
        stmt = sa.union(sa.select(leads.c.request_id).where(leads.c.request_id == sa.any_(wanted)),
                        sa.select(lead_merges.c.request_id).where(lead_merges.c.request_id == sa.any_(wanted)))
        return {r[0] for r in self.session.execute(stmt)}

    def copy_in(self, rows: list[tuple[Lead, str, dedupe.Keys]]) -> None:
        """Insert many new leads (with their request ids) by COPY, in this transaction (a writer thread sends
        while Python formats the next rows). A request id
        already taken fails the whole transaction (the caller filtered them out first)."""
        columns = [*_COLUMNS, "request_id", "company_key", "region_key"]
        flags, counts, parts = (_COLUMNS.index(c) for c in ("flags", "behaviour_counts", "score_parts"))
        # An import's leads share few distinct score parts: each encoded once.
        parts_text: dict[tuple, str] = {(): "[]"}
        raw = self.session.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY leads ({', '.join(columns)}) FROM STDIN",
                                           writer=QueuedLibpqWriter(cur)) as copy:
            for lead, request_id, keys in rows:
                values = [*_VALUES(lead), request_id, keys.company, keys.region]
                values[flags] = list(lead.flags)
                values[counts] = _json(lead.behaviour_counts) if lead.behaviour_counts else "{}"
                text = parts_text.get(lead.score_parts)
                if text is None:
                    text = parts_text[lead.score_parts] = _json(_parts_json(lead.score_parts))
                values[parts] = text
                copy.write_row(values)
        # Imported leads born held (an owner, or the rules' choice) start their history in the same transaction.
        with raw.cursor() as cur, cur.copy(f"COPY lead_assignments ({', '.join(_ASSIGNMENT_COLUMNS)}) FROM STDIN",
                                           writer=QueuedLibpqWriter(cur)) as copy:
            for lead, _, _ in rows:
                for a in lead.assignments:
                    values = _assignment_row(a)
                    copy.write_row([values[c] for c in _ASSIGNMENT_COLUMNS])
                lead.assignments.clear()

    def add_merges(self, merges: list[dict]) -> None:
        """Record many merges (``add_merge``'s columns as dicts); one executemany."""
        if merges:
            self.session.execute(sa.insert(lead_merges), merges)

    def get(self, lead_id: str) -> Lead | None:
        """The lead whoever may see it (for decisions about it, never for an answer)."""
        row = self.session.execute(_GET, {"id": lead_id}).first()
        return _to_lead(row) if row else None

    def visible_ids(self, lead_ids: list[str], viewer: visibility.Viewer) -> set[str]:
        """Those of ``lead_ids`` the viewer may see."""
        stmt = sa.select(leads.c.id).where(leads.c.id.in_(lead_ids), _visible(viewer))
        return {str(r) for r in self.session.execute(stmt).scalars()}

    def get_visible(self, lead_id: str, viewer: visibility.Viewer, *, for_update: bool = False) -> Lead | None:
        """The lead when ``viewer`` may see it; None when it is missing or hidden (the same answer)."""
        row = self.session.execute(_GET_VISIBLE[for_update][visibility.shape_of(viewer)],
                                   {"id": lead_id, **LEAD_RULE.params(viewer)}).first()
        return _to_lead(row) if row else None

    def get_many_for_update(self, lead_ids: list[str], viewer: visibility.Viewer | None = None) -> list[Lead]:
        """The leads among ``lead_ids`` (those ``viewer`` may see, when given), locked, in id order
        (one lock order for everyone, so two batches cannot deadlock)."""
        stmt = sa.select(leads).where(leads.c.id.in_(lead_ids))
        if viewer is not None:
            stmt = stmt.where(_visible(viewer))
        stmt = stmt.order_by(leads.c.id).with_for_update(of=leads)
        return [_to_lead(row) for row in self.session.execute(stmt)]

    def lock_holder(self, user_id: str) -> None:
        """Serialise pool changes for one holder until commit, so two claims cannot both pass the cap."""
        self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("leads.holder:" + user_id))))

    def count_open_held(self, user_id: str) -> int:
        stmt = sa.select(sa.func.count()).select_from(leads).where(leads.c.owner_id == user_id,
                                                                    leads.c.state == OPEN)
        return self.session.execute(stmt).scalar_one()

    def add_follow_up(self, follow_up: FollowUp) -> None:
        self.session.execute(sa.insert(follow_ups).values(
            id=follow_up.id, lead_id=follow_up.lead_id, kind=follow_up.kind, note=follow_up.note,
            author_id=follow_up.author_id, create_time=follow_up.create_time))

    def follow_ups_of(self, lead_id: str, limit: int, after: tuple[datetime, str] | None) -> list[FollowUp]:
        """The lead's follow-ups, newest first (create_time DESC, id); ``after`` is the last row seen."""
        stmt = newest_first(follow_ups, sa.select(follow_ups).where(follow_ups.c.lead_id == lead_id), after)
        return [FollowUp(id=r.id, lead_id=r.lead_id, kind=r.kind, note=r.note, author_id=r.author_id,
                         create_time=r.create_time) for r in self.session.execute(stmt.limit(limit))]

    def add_behaviour(self, *, lead_id: str, kind: str, occur_time: datetime, recorded_by: str, now: datetime) -> None:
        self.session.execute(sa.insert(lead_behaviours).values(
            id=str(uuid.uuid4()), lead_id=lead_id, type=kind, occur_time=occur_time, recorded_by=recorded_by,
            create_time=now))

    def stale_scores(self, version: int, limit: int) -> list[Lead]:
        """Open leads scored with settings older than ``version``, locked; rows another transaction holds are
        skipped (they are rescored by that change or the next batch)."""
        stmt = (sa.select(leads).where(leads.c.state == OPEN, leads.c.scored_with < version)
                .order_by(leads.c.scored_with, leads.c.id).limit(limit).with_for_update(skip_locked=True))
        return [_to_lead(row) for row in self.session.execute(stmt)]

    def recycle_candidates(self, settings: PoolSettings, now: datetime, limit: int) -> list[Lead]:
        """Held open leads whose earliest recycle deadline is at most a day away (due for a warning or
        a recycle), oldest holding first, locked; rows another transaction holds are skipped."""
        horizon = now + WARNING_AHEAD
        soon = []
        if settings.recycle_after_days_without_follow_up > 0:
            anchor = sa.func.greatest(leads.c.hold_time, sa.func.coalesce(leads.c.last_follow_up_time,
                                                                          leads.c.hold_time))
            soon.append(anchor + _days(settings.recycle_after_days_without_follow_up) <= horizon)
        if settings.recycle_after_days_unconverted > 0:
            soon.append(leads.c.hold_time + _days(settings.recycle_after_days_unconverted) <= horizon)
        if not soon:
            return []
        stmt = (sa.select(leads)
                .where(leads.c.state == OPEN, leads.c.owner_id.is_not(None), leads.c.hold_time.is_not(None),
                       sa.or_(*soon),
                       # Warned for a deadline still ahead: nothing to do until it passes.
                       sa.or_(leads.c.recycle_warned_for.is_(None), leads.c.recycle_warned_for <= now))
                .order_by(leads.c.hold_time, leads.c.id).limit(limit)
                .with_for_update(skip_locked=True))
        return [_to_lead(row) for row in self.session.execute(stmt)]

    def list_visible(self, viewer: visibility.Viewer, query: ListQuery, in_pool: bool = False) -> Page[Lead]:
        """One page of the held leads ``viewer`` may see (or, ``in_pool``, the pool's) that pass ``query``'s
        filter, in its order."""
        order = ordering.ordering(query.order_by, lists.lead_sort_keys(query.search_terms()))
        return ordering.read_page(self.session, _listed(viewer, query, in_pool), order, leads.c.id,
                                  query.filter.text, query.page_token, query.limit, _to_lead)

    def count_visible(self, viewer: visibility.Viewer, query: ListQuery, in_pool: bool = False) -> int:
        """How many leads ``list_visible`` lists over all its pages."""
        return ordering.count_rows(self.session, _listed(viewer, query, in_pool))

    def update(self, lead: Lead, expected_version: int) -> None:
        """Write the lead if nobody else did since it was read at ``expected_version``; ABORTED otherwise."""
        values = {c: v for c, v in _row(lead).items() if c not in _IMMUTABLE}
        values.update(match_id=lead.id, expected_version=expected_version)
        if self.session.execute(_update_statement(tuple(c for c in values if c not in _MATCH)), values).rowcount == 0:
            raise Aborted(f"{lead.name} was changed concurrently; re-read it and retry",
                          metadata={"resource": lead.name})
        self._write_assignments(lead)

    def update_many(self, changed: list[tuple[Lead, int]]) -> None:
        """``update`` for many leads in one batch (psycopg pipelines an executemany: no round trip per lead);
        ABORTED when any of them changed since it was read."""
        if not changed:
            return
        params = [{c: v for c, v in _row(lead).items() if c not in _IMMUTABLE} | {"match_id": lead.id,
                                                                                  "expected_version": version}
                  for lead, version in changed]
        stmt = _update_statement(tuple(c for c in params[0] if c not in _MATCH))
        if self.session.execute(stmt, params).rowcount != len(params):
            raise Aborted("a lead this import merges into was changed concurrently; import the file again",
                          metadata={"resources": ",".join(lead.name for lead, _ in changed[:10])})

    def hand_over_open(self, from_owner_id: str, to_owner_id: str, transfer_id: str, change_time: datetime,
                       now: datetime) -> list[str]:
        """Move every OPEN lead of ``from_owner_id`` to ``to_owner_id`` and record each move; the ids moved.

        One statement: the UPDATE (a new version, so a conversion that read the old one gets ABORTED)
        feeds the history INSERTs (``owner_changes`` per transfer, and the assignment history, whose actor is
        the system). Converted leads keep their owner.
        """
        moved = (sa.update(leads)
                 .where(leads.c.owner_id == from_owner_id, leads.c.state == OPEN)
                 .values(owner_id=to_owner_id, version=leads.c.version + 1, update_time=now)
                 .returning(leads.c.id)
                 .cte("moved"))
        audit = (sa.insert(lead_assignments)
                 .from_select(["id", "lead_id", "previous_owner_id", "new_owner_id", "kind", "change_time"],
                              sa.select(sa.func.gen_random_uuid(), moved.c.id, sa.literal(from_owner_id, _UUID),
                                        sa.literal(to_owner_id, _UUID), sa.literal(HANDOVER, sa.Text),
                                        sa.literal(change_time, sa.DateTime(timezone=True))))
                 .returning(lead_assignments.c.id)
                 .cte("audit"))
        history = (pg.insert(owner_changes)
                   .from_select(["lead_id", "transfer_id", "from_owner_id", "to_owner_id", "change_time"],
                                sa.select(moved.c.id, sa.literal(transfer_id, sa.Text),
                                          sa.literal(from_owner_id, _UUID), sa.literal(to_owner_id, _UUID),
                                          sa.literal(change_time, sa.DateTime(timezone=True))))
                   .on_conflict_do_nothing()
                   .returning(owner_changes.c.lead_id)
                   .add_cte(audit))
        return [str(r.lead_id) for r in self.session.execute(history)]
