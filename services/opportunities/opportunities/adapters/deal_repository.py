"""The deal aggregate in PostgreSQL: the deal, its stays in stages, and its collections (decision chain,
requirement items, document versions, activities, samples seen, checklist completions)."""

from __future__ import annotations

import json
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from opportunities.adapters import deal_list
from opportunities.adapters.deal_rows import (
    CHANGEABLE,
    COLUMNS,
    RULE,
    SELECT,
    SELECT_DEAL,
    STAGE_OF_DEAL,
    to_opportunity,
    values_of,
    visible,
)
from opportunities.adapters.orm import (
    activities,
    checklist_completions,
    deal_contacts,
    document_versions,
    opportunities,
    owner_changes,
    pipeline_stages,
    requirements,
    samples_seen,
    stage_history,
)
from opportunities.adapters.pipeline_repository import PipelineRepository
from opportunities.adapters.reports_tables import win_reasons
from opportunities.domain import audit, work
from opportunities.domain.deal_list import DEFAULT_ORDER
from opportunities.domain.decision_chain import DECISION_MAKER, DealContact
from opportunities.domain.model import OPEN, Collections, Opportunity, StageStay
from shangji_kit import filtering, ordering, plans, visibility
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page
from shangji_kit.statements import insert_or_skip

_INSERT = insert_or_skip(opportunities, COLUMNS, returning="id", conflict_columns=["lead_id"])
# A deal by id whoever asks (``get``): PostgreSQL may keep its plan (``plans``).
_GET = plans.generic(SELECT.where(opportunities.c.id == sa.bindparam("id", type_=opportunities.c.id.type)))

_UUID = opportunities.c.owner_id.type
_TIME = opportunities.c.update_time.type

# The UPDATE in the CTE runs first (data-modifying CTEs always run), so the new stay is the only open one;
# the INSERT waits for it through the scalar subquery that counts the closed rows.
_ENTER_STAGE = plans.generic(sa.text("""
    WITH closed AS (
        UPDATE stage_history SET exit_time = :time
        WHERE opportunity_id = CAST(:opportunity_id AS uuid) AND exit_time IS NULL
        RETURNING 1
    )
    INSERT INTO stage_history (opportunity_id, stage_key, enter_time, actor_id, reason)
    SELECT CAST(:opportunity_id AS uuid), :stage_key, :time, CAST(:actor_id AS uuid), :reason
    FROM (SELECT count(*) FROM closed) AS c
""").bindparams(sa.bindparam("time", type_=sa.DateTime(timezone=True))))


# Get and List, built once per viewer shape (building them per call was most of a read's CPU: bench.statements).
_BY_ID = opportunities.c.id == sa.bindparam("id", type_=opportunities.c.id.type)
_GET_VISIBLE = RULE.per_shape(lambda visible: SELECT_DEAL.where(_BY_ID, visible), one=True)
# The leading <= is implied by the OR, but lets the (create_time DESC, id) index start at the page's first row
# rather than scan from the newest deal (reading every page of a list, as an export does, was O(rows^2)).
_AFTER = sa.and_(opportunities.c.create_time <= sa.bindparam("after_time", type_=_TIME),
                 sa.or_(opportunities.c.create_time < sa.bindparam("after_time", type_=_TIME),
                        sa.and_(opportunities.c.create_time == sa.bindparam("after_time", type_=_TIME),
                                opportunities.c.id > sa.bindparam("after_id", type_=opportunities.c.id.type))))
_NEWEST_FIRST = (opportunities.c.create_time.desc(), opportunities.c.id)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
_LIST_VISIBLE = {
    False: RULE.per_shape(lambda visible: SELECT_DEAL.where(visible).order_by(*_NEWEST_FIRST).limit(_LIMIT)),
    True: RULE.per_shape(lambda visible: SELECT_DEAL.where(visible, _AFTER).order_by(*_NEWEST_FIRST).limit(_LIMIT)),
}


def _listed(viewer: visibility.Viewer, query: ListQuery, today: date) -> sa.Select:
    """The deals ``viewer`` may see that pass ``query``'s filter, unordered."""
    return SELECT.where(visible(viewer), filtering.compile_filter(query.filter, deal_list.filter_fields(today)))


def _contact(row) -> DealContact:
    return DealContact(id=row.id, opportunity_id=row.opportunity_id, contact_id=row.contact_id,
                       display_name=row.display_name, title=row.title, phone=row.phone, email=row.email,
                       buying_role=row.buying_role, attitude=row.attitude, satisfaction=row.satisfaction,
                       create_time=row.create_time, update_time=row.update_time)


_CONTACT_FIELDS = ("contact_id", "display_name", "title", "phone", "email", "buying_role", "attitude", "satisfaction")

# A registered deal, its first stay and its copied decision chain in one round trip instead of three (a converted
# lead's registration). The stay and the contacts take their rows from the deal's INSERT, so when the lead already
# yielded a deal (the INSERT skips) nothing is written. The stay is the first, so there is none to close (as
# _ENTER_STAGE would); the contacts keep the chain's order (seq follows the ORDER BY).
_REGISTER = sa.text(f"""
    WITH deal AS ({_INSERT.element.text}),
    stay AS (
        INSERT INTO stage_history (opportunity_id, stage_key, enter_time, actor_id, reason)
        SELECT deal.id, :stage_key, :stay_time, CAST(:stay_actor_id AS uuid), '' FROM deal
    ),
    chain AS (
        INSERT INTO deal_contacts (id, opportunity_id, contact_id, display_name, title, phone, email, buying_role,
                                   attitude, satisfaction, create_time, update_time)
        SELECT c.id, deal.id, c.contact_id, c.display_name, c.title, c.phone, c.email, c.buying_role, c.attitude,
               c.satisfaction, c.create_time, c.update_time
        FROM deal, json_populate_recordset(NULL::deal_contacts, CAST(:contacts AS json)) WITH ORDINALITY AS c
        ORDER BY c.ordinality
    )
    SELECT id FROM deal""").bindparams(*(sa.bindparam(n, type_=opportunities.c[n].type) for n in COLUMNS),
                                       sa.bindparam("stay_time", type_=_TIME))


def _requirement(row) -> work.Requirement:
    return work.Requirement(id=row.id, opportunity_id=row.opportunity_id, text=row.text, priority=row.priority,
                            answer=row.answer, create_time=row.create_time, update_time=row.update_time)


def _document(row) -> work.DocumentVersion:
    return work.DocumentVersion(opportunity_id=row.opportunity_id, document=row.document, version=row.version,
                                uri=row.uri, note=row.note, author_id=row.author_id, create_time=row.create_time)


def _loaded(row, stage: tuple[str, str, int] | None = None) -> Opportunity:
    """A deal read by id, which a use case may change: its audited fields are kept as read, so saving it records
    what changed (lists are read for display only and skip this)."""
    opportunity = to_opportunity(row, stage)
    opportunity.loaded = audit.snapshot(opportunity)
    return opportunity


class DealRepository:
    """Deals (each with its stage: joined, or from the pipelines' cache on the hot reads) and everything recorded
    on one."""

    def __init__(self, session: sa.Connection, pipelines: PipelineRepository | None = None) -> None:
        self.session = session
        self.pipelines = pipelines or PipelineRepository(session)

    def _stage(self, row) -> tuple[str, str, int]:
        """A ``SELECT_DEAL`` row's stage (display name, category, probability) from its pipeline version, read once
        per process (``PipelineRepository.get``)."""
        pipeline = self.pipelines.get(row.pipeline_id, row.pipeline_version)
        stage = pipeline.find(row.stage_key) if pipeline is not None else None
        if stage is None:  # the foreign key opportunities_pipeline_stage keeps this from happening
            raise LookupError(f"opportunities/{row.id}: stage {row.stage_key!r} is not in pipeline {row.pipeline_id} "
                              f"version {row.pipeline_version}")
        return stage.display_name, stage.category, stage.probability

    def add(self, opportunity: Opportunity) -> bool:
        """Insert; False when the lead already yielded a deal (nothing written)."""
        return self.session.execute(_INSERT, values_of(opportunity, COLUMNS)).first() is not None

    def add_registered(self, opportunity: Opportunity, time: datetime, actor_id: str | None,
                       contacts: list[DealContact]) -> bool:
        """``add``, then ``enter_stage`` in its stage at ``time`` by ``actor_id`` and ``add_contacts``, in one
        statement; False when the lead already yielded a deal (nothing written)."""
        values = values_of(opportunity, COLUMNS)
        # The contacts as one JSON parameter: psycopg dumps a list per column slowly (in Python).
        values.update(stay_time=time, stay_actor_id=actor_id, contacts=json.dumps([
            {"id": c.id, "create_time": c.create_time.isoformat(), "update_time": c.update_time.isoformat(),
             **{f: getattr(c, f) for f in _CONTACT_FIELDS}} for c in contacts]))
        return self.session.execute(_REGISTER, values).first() is not None

    def get_visible(self, opportunity_id: str, viewer: visibility.Viewer) -> Opportunity | None:
        """One deal; None when it is missing and when ``viewer`` may not see it (the caller cannot tell which)."""
        row = self.session.execute(_GET_VISIBLE[visibility.shape_of(viewer)],
                                   {"id": opportunity_id, **RULE.params(viewer)}).first()
        return _loaded(row, self._stage(row)) if row else None

    def list_visible(self, viewer: visibility.Viewer, query: ListQuery, today: date) -> Page[Opportunity]:
        """One page of the deals ``viewer`` may see that pass ``query``'s filter, in its order."""
        if query.filter.root is None and query.order_by == DEFAULT_ORDER:
            return self._newest_first(viewer, query)
        order = ordering.ordering(query.order_by, deal_list.sort_keys(query.search_terms()))
        return ordering.read_page(self.session, _listed(viewer, query, today), order, opportunities.c.id,
                                  query.filter.text, query.page_token, query.limit, to_opportunity)

    def count_visible(self, viewer: visibility.Viewer, query: ListQuery, today: date) -> int:
        """How many deals ``list_visible`` lists over all its pages."""
        return ordering.count_rows(self.session, _listed(viewer, query, today))

    def _newest_first(self, viewer: visibility.Viewer, query: ListQuery) -> Page[Opportunity]:
        """The unfiltered list, the hot path: statements built once per viewer shape, the kit's page tokens."""
        order = ordering.ordering(query.order_by, deal_list.sort_keys([]))
        after = ordering.decode_after(query.page_token, order, query.filter.text)
        params = {"limit": query.limit + 1, **RULE.params(viewer)}
        if after is not None:
            (params["after_time"],), params["after_id"] = after
        stmt = _LIST_VISIBLE[after is not None][visibility.shape_of(viewer)]
        stages: dict[tuple[str, int, str], tuple[str, str, int]] = {}
        rows = []
        for row in self.session.execute(stmt, params):
            key = (row.pipeline_id, row.pipeline_version, row.stage_key)
            stage = stages.get(key)
            if stage is None:
                stage = stages[key] = self._stage(row)
            rows.append(to_opportunity(row, stage))
        return ordering.page_from(rows, query.limit, order, query.filter.text, lambda o: ([o.create_time], o.id))

    def visible_ids(self, opportunity_ids: list[str], viewer: visibility.Viewer) -> set[str]:
        """The ids among ``opportunity_ids`` that ``viewer`` may see."""
        rows = self.session.execute(sa.select(opportunities.c.id).where(opportunities.c.id.in_(opportunity_ids),
                                                                         visible(viewer)))
        return {r.id for r in rows}

    def get(self, opportunity_id: str) -> Opportunity | None:
        """One deal whoever asks (callers decide who may act on it)."""
        row = self.session.execute(_GET, {"id": opportunity_id}).first()
        return _loaded(row) if row else None

    # Built once: every stage move and edit runs it, and a statement object keeps its cache key. By id: PostgreSQL
    # may keep its plan (``plans``).
    _UPDATE = plans.generic(sa.update(opportunities)
                            .where(opportunities.c.id == sa.bindparam("match_id"),
                                   opportunities.c.version == sa.bindparam("expected_version"))
                            .values({c: sa.bindparam(c, type_=opportunities.c[c].type) for c in CHANGEABLE}))

    def update(self, opportunity: Opportunity, expected_version: int) -> bool:
        """Write the changeable fields back; False when the row no longer has ``expected_version``."""
        values = values_of(opportunity, CHANGEABLE)
        values.update(match_id=opportunity.id, expected_version=expected_version)
        return self.session.execute(self._UPDATE, values).rowcount == 1

    def transfer_open(self, from_owner_id: str, to_owner_id: str, transfer_id: str, change_time: datetime,
                      now: datetime) -> list[str]:
        """Give every open deal of ``from_owner_id`` to ``to_owner_id`` and record each move; the moved ids.

        Won and lost deals stay with whoever won or lost them; a deal's stage and history do not change.
        """
        open_stage = sa.select(pipeline_stages.c.key).where(STAGE_OF_DEAL, pipeline_stages.c.category == OPEN)
        moved = (sa.update(opportunities)
                 .where(opportunities.c.owner_id == from_owner_id, open_stage.exists())
                 .values(owner_id=to_owner_id, version=opportunities.c.version + 1, update_time=now)
                 .returning(opportunities.c.id)
                 .cte("moved"))
        history = sa.select(moved.c.id, sa.literal(transfer_id, sa.Text), sa.literal(from_owner_id, _UUID),
                            sa.literal(to_owner_id, _UUID), sa.literal(change_time, _TIME))
        stmt = (pg.insert(owner_changes)
                .from_select(["opportunity_id", "transfer_id", "from_owner_id", "to_owner_id", "change_time"],
                             history)
                .on_conflict_do_nothing()
                .returning(owner_changes.c.opportunity_id))
        return [r.opportunity_id for r in self.session.execute(stmt)]

    def migrate(self, pipeline_id: str, from_version: int, to_version: int, mapping: dict[str, str],
                opportunity_ids: list[str] | None, now: datetime) -> list[tuple[str, str, str]]:
        """Move the deals of ``pipeline_id`` in ``from_version`` whose stage is mapped (and, when given, whose id
        is listed) to ``to_version``; (id, old stage, new stage) of each deal moved."""
        pairs = sa.values(sa.column("old", sa.Text), sa.column("new", sa.Text), name="mapping").data(
            list(mapping.items()))
        stmt = (sa.update(opportunities)
                .where(opportunities.c.pipeline_id == pipeline_id, opportunities.c.pipeline_version == from_version,
                       opportunities.c.stage_key == pairs.c.old)
                .values(pipeline_version=to_version, stage_key=pairs.c.new, version=opportunities.c.version + 1,
                        update_time=now)
                .returning(opportunities.c.id, pairs.c.old, pairs.c.new))
        if opportunity_ids is not None:
            stmt = stmt.where(opportunities.c.id.in_(opportunity_ids))
        return [(r[0], r[1], r[2]) for r in self.session.execute(stmt)]

    # --- stays in stages

    def enter_stage(self, opportunity_id: str, stage_key: str, time: datetime, actor_id: str | None, reason: str = ""
                    ) -> None:
        """Close the deal's current stay (if any) at ``time`` and open one in ``stage_key``: one round trip."""
        self.session.execute(_ENTER_STAGE, {"opportunity_id": opportunity_id, "stage_key": stage_key, "time": time,
                                            "actor_id": actor_id, "reason": reason})

    def enter_stages(self, moves: list[tuple[str, str]], time: datetime, actor_id: str | None, reason: str) -> None:
        """``enter`` for many deals at once: (opportunity id, stage key) each."""
        if not moves:
            return
        self.session.execute(sa.update(stage_history).where(
            stage_history.c.opportunity_id.in_([m[0] for m in moves]), stage_history.c.exit_time.is_(None))
            .values(exit_time=time))
        self.session.execute(sa.insert(stage_history), [
            {"opportunity_id": o, "stage_key": k, "enter_time": time, "actor_id": actor_id, "reason": reason}
            for o, k in moves])

    def stays(self, opportunity_id: str) -> list[StageStay]:
        rows = self.session.execute(sa.select(stage_history).where(stage_history.c.opportunity_id == opportunity_id)
                                    .order_by(stage_history.c.id))
        return [StageStay(stage_key=r.stage_key, enter_time=r.enter_time, exit_time=r.exit_time, actor_id=r.actor_id,
                          reason=r.reason) for r in rows]

    # --- what the gates read of the collections

    def collections(self, opportunity_id: str) -> Collections:
        """Everything the gates read from the collections, in one statement."""
        def count(table, *where):
            return (sa.select(sa.func.count()).select_from(table)
                    .where(table.c.opportunity_id == opportunity_id, *where).scalar_subquery())

        documents = (sa.select(sa.func.array_agg(sa.distinct(document_versions.c.document)))
                     .where(document_versions.c.opportunity_id == opportunity_id).scalar_subquery())
        row = self.session.execute(sa.select(
            count(deal_contacts, deal_contacts.c.buying_role == DECISION_MAKER).label("decision_makers"),
            count(requirements).label("requirements_total"),
            count(requirements, requirements.c.answer != "").label("requirements_answered"),
            documents.label("documents"),
            count(samples_seen, samples_seen.c.kind == "approved").label("approved"),
            count(samples_seen, samples_seen.c.kind == "delivered").label("delivered"))).one()
        return Collections(decision_makers=row.decision_makers, requirements_total=row.requirements_total,
                           requirements_answered=row.requirements_answered,
                           documents=frozenset(row.documents or ()), approved_samples=row.approved,
                           delivered_samples=row.delivered)

    # --- decision chain

    def add_contacts(self, contacts: list[DealContact]) -> None:
        if contacts:
            self.session.execute(sa.insert(deal_contacts), [
                {"id": c.id, "opportunity_id": c.opportunity_id, "create_time": c.create_time,
                 "update_time": c.update_time, **{f: getattr(c, f) for f in _CONTACT_FIELDS}} for c in contacts])

    def contact(self, opportunity_id: str, contact_id: str) -> DealContact | None:
        row = self.session.execute(sa.select(deal_contacts).where(
            deal_contacts.c.opportunity_id == opportunity_id, deal_contacts.c.id == contact_id)).first()
        return _contact(row) if row else None

    def update_contact(self, contact: DealContact) -> None:
        self.session.execute(sa.update(deal_contacts).where(deal_contacts.c.id == contact.id).values(
            update_time=contact.update_time, **{f: getattr(contact, f) for f in _CONTACT_FIELDS}))

    def remove_contact(self, opportunity_id: str, contact_id: str) -> bool:
        return self.session.execute(sa.delete(deal_contacts).where(
            deal_contacts.c.opportunity_id == opportunity_id, deal_contacts.c.id == contact_id)).rowcount == 1

    def contacts(self, opportunity_id: str) -> list[DealContact]:
        rows = self.session.execute(sa.select(deal_contacts).where(deal_contacts.c.opportunity_id == opportunity_id)
                                    .order_by(deal_contacts.c.seq))
        return [_contact(r) for r in rows]

    # --- requirement items, documents, samples, activities, checklist

    # requirements
    def add_requirement(self, r: work.Requirement) -> None:
        self.session.execute(sa.insert(requirements).values(
            id=r.id, opportunity_id=r.opportunity_id, text=r.text, priority=r.priority, answer=r.answer,
            create_time=r.create_time, update_time=r.update_time))

    def requirement(self, opportunity_id: str, requirement_id: str) -> work.Requirement | None:
        row = self.session.execute(sa.select(requirements).where(
            requirements.c.opportunity_id == opportunity_id, requirements.c.id == requirement_id)).first()
        return _requirement(row) if row else None

    def update_requirement(self, r: work.Requirement) -> None:
        self.session.execute(sa.update(requirements).where(requirements.c.id == r.id).values(
            text=r.text, priority=r.priority, answer=r.answer, update_time=r.update_time))

    def requirements(self, opportunity_id: str) -> list[work.Requirement]:
        rows = self.session.execute(sa.select(requirements).where(requirements.c.opportunity_id == opportunity_id)
                                    .order_by(requirements.c.create_time, requirements.c.id))
        return [_requirement(r) for r in rows]

    # documents
    def add_document_version(self, d: work.DocumentVersion) -> int:
        """The next version of the named document (1 when new). Adds of one name are serialised by a transaction
        lock, so concurrent ones number in turn."""
        self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(
            sa.literal(f"opportunities.document:{d.opportunity_id}:{d.document}", sa.Text), 0))))
        latest = (sa.select(sa.func.coalesce(sa.func.max(document_versions.c.version), 0) + 1)
                  .where(document_versions.c.opportunity_id == d.opportunity_id,
                         document_versions.c.document == d.document).scalar_subquery())
        return self.session.execute(pg.insert(document_versions).values(
            opportunity_id=d.opportunity_id, document=d.document, version=latest, uri=d.uri, note=d.note,
            author_id=d.author_id, create_time=d.create_time).returning(document_versions.c.version)).scalar_one()

    def documents(self, opportunity_id: str, document: str | None = None) -> list[work.DocumentVersion]:
        """Every version of ``document`` oldest first, or the latest version of each document by name."""
        t = document_versions
        if document is not None:
            stmt = sa.select(t).where(t.c.opportunity_id == opportunity_id, t.c.document == document).order_by(
                t.c.version)
        else:
            stmt = (sa.select(t).where(t.c.opportunity_id == opportunity_id)
                    .distinct(t.c.document).order_by(t.c.document, t.c.version.desc()))
        return [_document(r) for r in self.session.execute(stmt)]

    # samples
    def record_sample(self, request_id: str, kind: str, opportunity_id: str, time: datetime) -> bool:
        """Count a sample request as approved / delivered for a deal; False when it already counts."""
        stmt = (pg.insert(samples_seen).values(request_id=request_id, kind=kind, opportunity_id=opportunity_id,
                                               event_time=time)
                .on_conflict_do_nothing().returning(samples_seen.c.request_id))
        return self.session.execute(stmt).first() is not None

    # activities
    def record_erp_order(self, opportunity_id: str, order_number: str, confirm_time: datetime) -> bool:
        """Keep the deal's ERP order number; False when the deal is unknown or already has one."""
        # The number is output only: writing it moves neither the version (an etag held by an editor stays good) nor
        # the update time of the deal's own fields.
        result = self.session.execute(sa.update(opportunities).where(
            opportunities.c.id == opportunity_id, opportunities.c.erp_order_number == "")
            .values(erp_order_number=order_number, erp_order_time=confirm_time))
        return result.rowcount == 1

    def add_activity(self, a: work.Activity) -> None:
        self.session.execute(sa.insert(activities).values(
            id=a.id, opportunity_id=a.opportunity_id, kind=a.kind, notes=a.notes, occur_time=a.occur_time,
            author_id=a.author_id, create_time=a.create_time))

    def activities(self, opportunity_id: str) -> list[work.Activity]:
        rows = self.session.execute(sa.select(activities).where(activities.c.opportunity_id == opportunity_id)
                                    .order_by(activities.c.occur_time.desc(), activities.c.id))
        return [work.Activity(id=r.id, opportunity_id=r.opportunity_id, kind=r.kind, occur_time=r.occur_time,
                              author_id=r.author_id, notes=r.notes, create_time=r.create_time) for r in rows]

    # checklist
    def record_checklist(self, opportunity_id: str, items: list[str], user_id: str, now: datetime) -> None:
        """Who completed these items and when; an item already recorded keeps its first completion."""
        if items:
            self.session.execute(pg.insert(checklist_completions).on_conflict_do_nothing(), [
                {"opportunity_id": opportunity_id, "item": i, "user_id": user_id, "complete_time": now}
                for i in items])

    def forget_checklist(self, opportunity_id: str, items: list[str]) -> None:
        if items:
            self.session.execute(sa.delete(checklist_completions).where(
                checklist_completions.c.opportunity_id == opportunity_id, checklist_completions.c.item.in_(items)))

    def checklist_completions(self, opportunity_id: str) -> list[tuple[str, str, datetime]]:
        rows = self.session.execute(sa.select(checklist_completions).where(
            checklist_completions.c.opportunity_id == opportunity_id).order_by(checklist_completions.c.complete_time,
                                                                               checklist_completions.c.item))
        return [(r.item, r.user_id, r.complete_time) for r in rows]

    # win reasons (reports, migration 0010)
    def record_win_reason(self, opportunity_id: str, reason: str, competitors_beaten: list[str], time: datetime
                          ) -> None:
        w = win_reasons
        stmt = pg.insert(w).values(opportunity_id=opportunity_id, reason=reason,
                                   competitors_beaten=competitors_beaten, win_time=time)
        self.session.execute(stmt.on_conflict_do_update(index_elements=[w.c.opportunity_id], set_={
            "reason": stmt.excluded.reason, "competitors_beaten": stmt.excluded.competitors_beaten,
            "win_time": stmt.excluded.win_time}))
