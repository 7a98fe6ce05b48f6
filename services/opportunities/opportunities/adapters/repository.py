"""Opportunities, pipelines, opportunity teams and teams' organisation in PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from opportunities.adapters.orm import (
    activities,
    alerts_sent,
    checklist_completions,
    customer_chains,
    customer_owners,
    deal_contacts,
    document_versions,
    opportunities,
    org,
    owner_changes,
    pipeline_stages,
    pipeline_versions,
    pipelines,
    registration_settings,
    requirements,
    routing_rules,
    samples_seen,
    stage_history,
    tasks,
    team_members,
)
from opportunities.domain import work
from opportunities.domain.alerts import Alert
from opportunities.domain.decision_chain import DECISION_MAKER, DealContact
from opportunities.domain.model import OPEN, Collections, Opportunity, Pipeline, QuoteLine, StageStay, TeamMember
from opportunities.domain.pipeline import pipeline_from_dict, pipeline_to_dict
from opportunities.domain.registration import Holding, RegistrationSettings
from opportunities.domain.routing import RoutingRule
from shangji_kit import visibility
from shangji_kit.statements import insert_or_skip

_COLUMNS = ("id", "title", "customer_company", "contact_name", "contact_phone", "contact_email", "region", "source",
            "owner_id", "registrant_id", "pipeline_id", "stage_key", "lead_id", "version", "create_time",
            "update_time", "pipeline_version", "amount", "currency", "expected_close_date", "probability",
            "probability_note", "checklist", "product_lines", "stage_enter_time", "win_date", "lost_reason",
            "lost_competitor", "registration_state", "customer_key", "collides_with", "arbiter_id", "arbitration_time",
            "arbitration_note", "customer_id", "difficulty", "quote_lines")
_ARRAYS = ("checklist", "product_lines")
# What a change may write back (identity and registration stay). owner_id: an assignment from the queue; a
# handover (transfer_open) moves the version on, so a change read before it is refused.
_CHANGEABLE = ("title", "stage_key", "pipeline_version", "amount", "currency", "expected_close_date", "probability",
               "probability_note", "checklist", "product_lines", "stage_enter_time", "win_date", "lost_reason",
               "lost_competitor", "version", "update_time", "registration_state", "collides_with", "arbiter_id",
               "arbitration_time", "arbitration_note", "owner_id", "customer_id", "difficulty", "quote_lines")

_STAGE_OF_DEAL = sa.and_(pipeline_stages.c.pipeline_id == opportunities.c.pipeline_id,
                         pipeline_stages.c.version == opportunities.c.pipeline_version,
                         pipeline_stages.c.key == opportunities.c.stage_key)

# The stage's name, category and default probability travel with every opportunity read, so reads join them.
_SELECT = sa.select(opportunities, pipeline_stages.c.display_name.label("stage_display_name"),
                    pipeline_stages.c.category.label("stage_category"),
                    pipeline_stages.c.probability.label("stage_probability")).join(pipeline_stages, _STAGE_OF_DEAL)


def _to_opportunity(row) -> Opportunity:
    values = {c: getattr(row, c) for c in _COLUMNS}
    for c in _ARRAYS:
        values[c] = tuple(values[c] or ())
    values["quote_lines"] = tuple(
        QuoteLine(product=q["product"], quantity=Decimal(q["quantity"]), unit_price=Decimal(q["unit_price"]),
                  description=q.get("description", "")) for q in values["quote_lines"] or ())
    return Opportunity(stage_display_name=row.stage_display_name, stage_category=row.stage_category,
                       stage_probability=row.stage_probability, **values)


def _values(opportunity: Opportunity, columns: tuple[str, ...]) -> dict:
    values = {c: getattr(opportunity, c) for c in columns}
    for c in _ARRAYS:
        if c in values:
            values[c] = list(values[c])
    if "quote_lines" in values:  # decimals as strings, so JSON keeps them exact
        values["quote_lines"] = [{"product": q.product, "quantity": str(q.quantity), "unit_price": str(q.unit_price),
                                  "description": q.description} for q in values["quote_lines"]]
    return values


_INSERT = insert_or_skip(opportunities, _COLUMNS, returning="id", conflict_columns=["lead_id"])

_UUID = opportunities.c.owner_id.type
_TIME = opportunities.c.update_time.type


def visible(viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
    """The deals ``viewer`` may see (ARCHITECTURE.md section 6), by the kit's rules."""
    team_ids = sa.select(team_members.c.opportunity_id).where(team_members.c.user_id == viewer.user_id)
    # The assignment queue (no owner) is open to sales ops (who see everything) and to every active manager.
    extra = [opportunities.c.owner_id.is_(None)] if viewer.headed_paths and not viewer.deactivated else []
    return visibility.visible_clause(viewer, org, opportunities.c.owner_id, team_ids=team_ids,
                                     id_col=opportunities.c.id, extra=extra)


class OpportunityRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, opportunity: Opportunity) -> bool:
        """Insert; False when the lead already yielded a deal (nothing written)."""
        return self.session.execute(_INSERT, _values(opportunity, _COLUMNS)).first() is not None

    def get_visible(self, opportunity_id: str, viewer: visibility.Viewer) -> Opportunity | None:
        """One deal; None when it is missing and when ``viewer`` may not see it (the caller cannot tell which)."""
        row = self.session.execute(
            _SELECT.where(opportunities.c.id == opportunity_id, visible(viewer))).first()
        return _to_opportunity(row) if row else None

    def list_visible(self, viewer: visibility.Viewer, limit: int, after: tuple[datetime, str] | None
                     ) -> list[Opportunity]:
        """The deals ``viewer`` may see, newest first (create_time DESC, id); ``after`` is the last row seen."""
        stmt = _SELECT.where(visible(viewer))
        if after is not None:
            time, last_id = after
            stmt = stmt.where(sa.or_(opportunities.c.create_time < time,
                                     sa.and_(opportunities.c.create_time == time, opportunities.c.id > last_id)))
        stmt = stmt.order_by(opportunities.c.create_time.desc(), opportunities.c.id).limit(limit)
        return [_to_opportunity(row) for row in self.session.execute(stmt)]

    def visible_ids(self, opportunity_ids: list[str], viewer: visibility.Viewer) -> set[str]:
        """The ids among ``opportunity_ids`` that ``viewer`` may see."""
        rows = self.session.execute(sa.select(opportunities.c.id).where(opportunities.c.id.in_(opportunity_ids),
                                                                         visible(viewer)))
        return {r.id for r in rows}

    def get(self, opportunity_id: str) -> Opportunity | None:
        """One deal whoever asks (callers decide who may act on it)."""
        row = self.session.execute(_SELECT.where(opportunities.c.id == opportunity_id)).first()
        return _to_opportunity(row) if row else None

    def lock_customer(self, customer_key: str) -> None:
        """Serialise registrations for one customer key until the transaction ends, so two concurrent
        registrations cannot both miss each other's collision."""
        self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            sa.func.hashtextextended(sa.literal("opportunities.customer:" + customer_key, sa.Text), 0))))

    def holdings(self, customer_key: str) -> list[Holding]:
        """Every deal registered for this customer key, with whether its stage is open."""
        rows = self.session.execute(
            sa.select(opportunities.c.id, opportunities.c.owner_id, opportunities.c.product_lines,
                      opportunities.c.create_time, opportunities.c.registration_state,
                      (pipeline_stages.c.category == OPEN).label("is_open"))
            .join(pipeline_stages, _STAGE_OF_DEAL).where(opportunities.c.customer_key == customer_key))
        return [Holding(opportunity_id=r.id, owner_id=r.owner_id, product_lines=tuple(r.product_lines or ()),
                        create_time=r.create_time, is_open=r.is_open, registration_state=r.registration_state)
                for r in rows]

    # Built once: every stage move and edit runs it, and a statement object keeps its cache key.
    _UPDATE = (sa.update(opportunities)
               .where(opportunities.c.id == sa.bindparam("match_id"),
                      opportunities.c.version == sa.bindparam("expected_version"))
               .values({c: sa.bindparam(c, type_=opportunities.c[c].type) for c in _CHANGEABLE}))

    def update(self, opportunity: Opportunity, expected_version: int) -> bool:
        """Write the changeable fields back; False when the row no longer has ``expected_version``."""
        values = _values(opportunity, _CHANGEABLE)
        values.update(match_id=opportunity.id, expected_version=expected_version)
        return self.session.execute(self._UPDATE, values).rowcount == 1

    def transfer_open(self, from_owner_id: str, to_owner_id: str, transfer_id: str, change_time: datetime,
                      now: datetime) -> list[str]:
        """Give every open deal of ``from_owner_id`` to ``to_owner_id`` and record each move; the moved ids.

        Won and lost deals stay with whoever won or lost them; a deal's stage and history do not change.
        """
        open_stage = sa.select(pipeline_stages.c.key).where(_STAGE_OF_DEAL, pipeline_stages.c.category == OPEN)
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


class RoutingRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def rules(self) -> list[RoutingRule]:
        rows = self.session.execute(sa.select(routing_rules).order_by(routing_rules.c.position))
        return [RoutingRule(position=r.position, owner_id=r.owner_id, region=r.region, product_line=r.product_line,
                            amount_min=r.amount_min, amount_max=r.amount_max) for r in rows]

    def replace(self, rules: list[RoutingRule]) -> None:
        """The whole ordered list at once (the CLI's load-routing)."""
        self.session.execute(sa.delete(routing_rules))
        if rules:
            self.session.execute(sa.insert(routing_rules), [
                {"position": r.position, "owner_id": r.owner_id, "region": r.region.strip(),
                 "product_line": r.product_line.strip(), "amount_min": r.amount_min, "amount_max": r.amount_max}
                for r in rules])


class SettingsRepository:
    """The company's settings row."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def registration(self) -> RegistrationSettings:
        row = self.session.execute(sa.select(registration_settings)).first()
        if row is None:  # migration 0004 seeds it; the defaults otherwise
            return RegistrationSettings()
        return RegistrationSettings(protection_days=row.protection_days, collision_mode=row.collision_mode)

    def big_deal_threshold(self) -> Decimal | None:
        """The amount above which a deal is a big deal; None: no big-deal alerts."""
        return self.session.execute(sa.select(registration_settings.c.big_deal_threshold)).scalar()

    def set_big_deal_threshold(self, threshold: Decimal | None) -> None:
        self.session.execute(sa.update(registration_settings).values(big_deal_threshold=threshold))

    def set_registration(self, settings: RegistrationSettings) -> None:
        self.session.execute(pg.insert(registration_settings).values(
            id=True, protection_days=settings.protection_days, collision_mode=settings.collision_mode)
            .on_conflict_do_update(index_elements=["id"], set_={"protection_days": settings.protection_days,
                                                                "collision_mode": settings.collision_mode}))


class AlertRepository:
    """Alerts already raised, and the deals a scan looks at."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def candidates(self, close_by: date, entered_before: datetime) -> list[Opportunity]:
        """Active, owned deals in open stages whose close date is on or before ``close_by`` or which entered
        their stage before ``entered_before`` (the pure rules decide which alerts are due)."""
        stmt = _SELECT.where(pipeline_stages.c.category == OPEN, opportunities.c.registration_state == "active",
                             opportunities.c.owner_id.is_not(None),
                             sa.or_(opportunities.c.expected_close_date <= close_by,
                                    opportunities.c.stage_enter_time < entered_before))
        return [_to_opportunity(row) for row in self.session.execute(stmt.order_by(opportunities.c.id))]

    def sent(self, opportunity_ids: list[str]) -> set[tuple[str, str, str]]:
        if not opportunity_ids:
            return set()
        rows = self.session.execute(sa.select(alerts_sent.c.opportunity_id, alerts_sent.c.kind,
                                              alerts_sent.c.condition_key)
                                    .where(alerts_sent.c.opportunity_id.in_(opportunity_ids)))
        return {(r.opportunity_id, r.kind, r.condition_key) for r in rows}

    def record(self, alert: Alert) -> bool:
        """Claim the alert; False when it was raised before (by this or a concurrent scan)."""
        stmt = (pg.insert(alerts_sent).values(opportunity_id=alert.opportunity.id, kind=alert.kind,
                                              condition_key=alert.condition_key, send_time=alert.detect_time)
                .on_conflict_do_nothing().returning(alerts_sent.c.opportunity_id))
        return self.session.execute(stmt).first() is not None

    def managers_of(self, owner_id: str) -> tuple[str, ...]:
        """Active heads of the owner's department and every department above it, nearest first, as teams'
        projection knows them (none when it does not know the owner)."""
        d, u, h = org.departments, org.users, org.users.alias("head")
        own = (sa.select(d.c.path).join(u, u.c.department_id == d.c.id)
               .where(u.c.user_id == owner_id).scalar_subquery())
        above = d.alias("above")
        stmt = (sa.select(above.c.head_id)
                .join(h, sa.and_(h.c.user_id == above.c.head_id, h.c.active))
                .where(sa.func.starts_with(own, above.c.path), above.c.head_id != owner_id)
                .order_by(sa.func.length(above.c.path).desc()))
        return tuple(dict.fromkeys(r[0] for r in self.session.execute(stmt)))


class TeamRepository:
    """Opportunity teams as teams last told us."""

    _INSERT = insert_or_skip(team_members, ["opportunity_id", "user_id", "role", "can_edit", "add_time"],
                             returning="user_id", conflict_columns=["opportunity_id", "user_id"])

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, member: TeamMember) -> bool:
        """False when the person is already on the team (the row is left as it is)."""
        values = {"opportunity_id": member.opportunity_id, "user_id": member.user_id, "role": member.role,
                  "can_edit": member.can_edit, "add_time": member.add_time}
        return self.session.execute(self._INSERT, values).first() is not None

    def remove(self, opportunity_id: str, user_id: str) -> bool:
        stmt = sa.delete(team_members).where(team_members.c.opportunity_id == opportunity_id,
                                             team_members.c.user_id == user_id)
        return self.session.execute(stmt).rowcount == 1

    _GET = sa.select(team_members).where(team_members.c.opportunity_id == sa.bindparam("opportunity_id"),
                                         team_members.c.user_id == sa.bindparam("user_id"))

    def get(self, opportunity_id: str, user_id: str) -> TeamMember | None:
        row = self.session.execute(self._GET, {"opportunity_id": opportunity_id, "user_id": user_id}).first()
        return TeamMember(opportunity_id=row.opportunity_id, user_id=row.user_id, role=row.role,
                          can_edit=row.can_edit, add_time=row.add_time) if row else None


class OrgRepository:
    """Teams' organisation as visibility needs it; every rule is the kit's (``shangji_kit.visibility``)."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def apply_user(self, user: visibility.OrgUser) -> None:
        visibility.apply_user(self.session, org, user)

    def apply_department(self, department: visibility.OrgDepartment) -> None:
        visibility.apply_department(self.session, org, department)

    def viewer(self, user_id: str) -> visibility.Viewer:
        return visibility.load_viewer(self.session, org, user_id)

    def is_active(self, user_id: str) -> bool | None:
        """True/False as teams last said; None when teams has not told us about this user yet."""
        return visibility.is_active_user(self.session, org, user_id)

    def manages(self, viewer: visibility.Viewer, owner_id: str) -> bool:
        return visibility.manages(self.session, org, viewer, owner_id)


# (pipeline id, version) -> Pipeline, shared by the process's units of work (see PipelineRepository.get).
_VERSIONS: dict[tuple[str, int], Pipeline] = {}
_VERSIONS_KEPT = 1024


class PipelineRepository:
    """Pipelines and their versions; a version, once written, never changes."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    _SELECT = (sa.select(pipelines.c.id, pipelines.c.is_default, pipeline_versions.c.version,
                         pipeline_versions.c.definition, pipeline_versions.c.create_time)
               .join(pipeline_versions, pipeline_versions.c.pipeline_id == pipelines.c.id))

    @staticmethod
    def _to_pipeline(row) -> Pipeline:
        return pipeline_from_dict(row.definition, id=row.id, version=row.version, is_default=row.is_default,
                                  create_time=row.create_time)

    def default(self) -> Pipeline | None:
        """The latest version of the default pipeline."""
        row = self.session.execute(self._SELECT.where(
            pipelines.c.is_default, pipeline_versions.c.version == pipelines.c.version)).first()
        return self._to_pipeline(row) if row else None

    def get(self, pipeline_id: str, version: int | None = None) -> Pipeline | None:
        """One version (the latest when ``version`` is None).

        A given version is read from the process's cache after its first load: versions are immutable
        (an edit writes the next version), and every stage move needs its deal's pipeline.
        """
        if version is not None and (cached := _VERSIONS.get((pipeline_id, version))) is not None:
            return cached
        wanted = pipelines.c.version if version is None else version
        row = self.session.execute(self._SELECT.where(
            pipelines.c.id == pipeline_id, pipeline_versions.c.version == wanted)).first()
        if row is None:
            return None
        pipeline = self._to_pipeline(row)
        if len(_VERSIONS) >= _VERSIONS_KEPT:
            _VERSIONS.clear()  # a crude bound: companies keep tens of versions, not thousands
        _VERSIONS[(pipeline_id, row.version)] = pipeline
        return pipeline

    def id_of(self, key: str, lock: bool = False) -> str | None:
        stmt = sa.select(pipelines.c.id).where(pipelines.c.key == key)
        return self.session.execute(stmt.with_for_update() if lock else stmt).scalar()

    def list_latest(self, limit: int, after_id: str | None) -> list[Pipeline]:
        """Latest versions by key, after the pipeline ``after_id``."""
        stmt = self._SELECT.where(pipeline_versions.c.version == pipelines.c.version)
        if after_id is not None:
            after_key = sa.select(pipelines.c.key).where(pipelines.c.id == after_id).scalar_subquery()
            stmt = stmt.where(pipelines.c.key > after_key)
        return [self._to_pipeline(r) for r in self.session.execute(stmt.order_by(pipelines.c.key).limit(limit))]

    def add(self, pipeline: Pipeline) -> bool:
        """A new pipeline at version 1; False when its key is taken (nothing written)."""
        inserted = self.session.execute(
            pg.insert(pipelines).values(id=pipeline.id, key=pipeline.key, display_name=pipeline.display_name,
                                        is_default=False, version=1)
            .on_conflict_do_nothing(index_elements=["key"]).returning(pipelines.c.id)).first()
        if inserted is None:
            return False
        self._add_version(pipeline.id, 1, pipeline)
        return True

    def add_version(self, pipeline_id: str, pipeline: Pipeline) -> int:
        """The next version of an existing pipeline (its row locked, so concurrent loads number in turn)."""
        version = self.session.execute(
            sa.update(pipelines).where(pipelines.c.id == pipeline_id)
            .values(version=pipelines.c.version + 1, display_name=pipeline.display_name)
            .returning(pipelines.c.version)).scalar_one()
        self._add_version(pipeline_id, version, pipeline)
        return version

    def _add_version(self, pipeline_id: str, version: int, pipeline: Pipeline) -> None:
        self.session.execute(sa.insert(pipeline_versions).values(
            pipeline_id=pipeline_id, version=version, definition=pipeline_to_dict(pipeline)))
        self.session.execute(sa.insert(pipeline_stages), [
            {"pipeline_id": pipeline_id, "version": version, "key": s.key, "position": s.position,
             "display_name": s.display_name, "category": s.category, "probability": s.probability}
            for s in pipeline.stages])


# The UPDATE in the CTE runs first (data-modifying CTEs always run), so the new stay is the only open one;
# the INSERT waits for it through the scalar subquery that counts the closed rows.
_ENTER_STAGE = sa.text("""
    WITH closed AS (
        UPDATE stage_history SET exit_time = :time
        WHERE opportunity_id = CAST(:opportunity_id AS uuid) AND exit_time IS NULL
        RETURNING 1
    )
    INSERT INTO stage_history (opportunity_id, stage_key, enter_time, actor_id, reason)
    SELECT CAST(:opportunity_id AS uuid), :stage_key, :time, CAST(:actor_id AS uuid), :reason
    FROM (SELECT count(*) FROM closed) AS c
""").bindparams(sa.bindparam("time", type_=sa.DateTime(timezone=True)))


class StageHistoryRepository:
    """Each stay of a deal in a stage; at most one open (no exit_time) per deal."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def enter(self, opportunity_id: str, stage_key: str, time: datetime, actor_id: str | None, reason: str = ""
              ) -> None:
        """Close the deal's current stay (if any) at ``time`` and open one in ``stage_key``: one round trip."""
        self.session.execute(_ENTER_STAGE, {"opportunity_id": opportunity_id, "stage_key": stage_key, "time": time,
                                            "actor_id": actor_id, "reason": reason})

    def enter_many(self, moves: list[tuple[str, str]], time: datetime, actor_id: str | None, reason: str) -> None:
        """``enter`` for many deals at once: (opportunity id, stage key) each."""
        if not moves:
            return
        self.session.execute(sa.update(stage_history).where(
            stage_history.c.opportunity_id.in_([m[0] for m in moves]), stage_history.c.exit_time.is_(None))
            .values(exit_time=time))
        self.session.execute(sa.insert(stage_history), [
            {"opportunity_id": o, "stage_key": k, "enter_time": time, "actor_id": actor_id, "reason": reason}
            for o, k in moves])

    def list(self, opportunity_id: str) -> list[StageStay]:
        rows = self.session.execute(sa.select(stage_history).where(stage_history.c.opportunity_id == opportunity_id)
                                    .order_by(stage_history.c.id))
        return [StageStay(stage_key=r.stage_key, enter_time=r.enter_time, exit_time=r.exit_time, actor_id=r.actor_id,
                          reason=r.reason) for r in rows]


def _contact(row) -> DealContact:
    return DealContact(id=row.id, opportunity_id=row.opportunity_id, contact_id=row.contact_id,
                       display_name=row.display_name, title=row.title, phone=row.phone, email=row.email,
                       buying_role=row.buying_role, attitude=row.attitude, satisfaction=row.satisfaction,
                       create_time=row.create_time, update_time=row.update_time)


_CONTACT_FIELDS = ("contact_id", "display_name", "title", "phone", "email", "buying_role", "attitude", "satisfaction")


class ChainRepository:
    """Decision chains: each deal's own, and each customer's latest account-level chain (from leads)."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, contacts: list[DealContact]) -> None:
        if contacts:
            self.session.execute(sa.insert(deal_contacts), [
                {"id": c.id, "opportunity_id": c.opportunity_id, "create_time": c.create_time,
                 "update_time": c.update_time, **{f: getattr(c, f) for f in _CONTACT_FIELDS}} for c in contacts])

    def get(self, opportunity_id: str, contact_id: str) -> DealContact | None:
        row = self.session.execute(sa.select(deal_contacts).where(
            deal_contacts.c.opportunity_id == opportunity_id, deal_contacts.c.id == contact_id)).first()
        return _contact(row) if row else None

    def update(self, contact: DealContact) -> None:
        self.session.execute(sa.update(deal_contacts).where(deal_contacts.c.id == contact.id).values(
            update_time=contact.update_time, **{f: getattr(contact, f) for f in _CONTACT_FIELDS}))

    def remove(self, opportunity_id: str, contact_id: str) -> bool:
        return self.session.execute(sa.delete(deal_contacts).where(
            deal_contacts.c.opportunity_id == opportunity_id, deal_contacts.c.id == contact_id)).rowcount == 1

    def list(self, opportunity_id: str) -> list[DealContact]:
        rows = self.session.execute(sa.select(deal_contacts).where(deal_contacts.c.opportunity_id == opportunity_id)
                                    .order_by(deal_contacts.c.seq))
        return [_contact(r) for r in rows]

    def customer_chain(self, customer_id: str) -> list[DealContact]:
        """The customer's latest chain as contacts without a deal (ids and times are the copier's to give)."""
        contacts = self.session.execute(sa.select(customer_chains.c.contacts)
                                        .where(customer_chains.c.customer_id == customer_id)).scalar()
        return [DealContact(id="", opportunity_id="", **c) for c in contacts or ()]

    def apply_customer_chain(self, customer_id: str, revision: int, contacts: list[DealContact],
                             change_time: datetime | None) -> bool:
        """Keep the chain when its revision is higher than the one held; False when it is not (left as it is)."""
        values = {"revision": revision, "change_time": change_time,
                  "contacts": [{f: getattr(c, f) for f in _CONTACT_FIELDS} for c in contacts]}
        stmt = (pg.insert(customer_chains).values(customer_id=customer_id, **values)
                .on_conflict_do_update(index_elements=["customer_id"], set_=values,
                                       where=customer_chains.c.revision < revision)
                .returning(customer_chains.c.customer_id))
        return self.session.execute(stmt).first() is not None


class CustomerRepository:
    """Who owns each of leads' customers, as leads last told us (CustomerCreated / CustomerUpdated)."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def apply_owner(self, customer_id: str, owner_id: str, update_time: datetime) -> bool:
        """Keep the customer's owner unless a newer state is held (reordered events change nothing)."""
        stmt = pg.insert(customer_owners).values(customer_id=customer_id, owner_id=owner_id, update_time=update_time)
        stmt = stmt.on_conflict_do_update(
            index_elements=[customer_owners.c.customer_id],
            set_={"owner_id": stmt.excluded.owner_id, "update_time": stmt.excluded.update_time},
            where=customer_owners.c.update_time <= stmt.excluded.update_time).returning(customer_owners.c.customer_id)
        return self.session.execute(stmt).first() is not None

    def visible(self, customer_id: str, viewer: visibility.Viewer) -> bool:
        """Whether ``viewer`` may see the customer by the kit's rule over its owner; False for a customer whose
        owner leads has not told us (unknown customers are refused, not guessed)."""
        stmt = sa.select(sa.literal(True)).where(
            customer_owners.c.customer_id == customer_id,
            visibility.visible_clause(viewer, org, customer_owners.c.owner_id))
        return self.session.execute(stmt).first() is not None


def _requirement(row) -> work.Requirement:
    return work.Requirement(id=row.id, opportunity_id=row.opportunity_id, text=row.text, priority=row.priority,
                            answer=row.answer, create_time=row.create_time, update_time=row.update_time)


def _document(row) -> work.DocumentVersion:
    return work.DocumentVersion(opportunity_id=row.opportunity_id, document=row.document, version=row.version,
                                uri=row.uri, note=row.note, author_id=row.author_id, create_time=row.create_time)


def _task(row) -> work.Task:
    return work.Task(id=row.id, opportunity_id=row.opportunity_id, title=row.title, due_date=row.due_date,
                     assignee_id=row.assignee_id, create_time=row.create_time, status=row.status,
                     creator_id=row.creator_id, stage_key=row.stage_key, complete_time=row.complete_time,
                     completed_by=row.completed_by)


_TASK_FIELDS = ("id", "opportunity_id", "title", "due_date", "assignee_id", "create_time", "status", "creator_id",
                "stage_key", "complete_time", "completed_by")


class WorkRepository:
    """A deal's requirement items, documents, samples seen, activities, tasks and checklist completions."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

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

    # requirements
    def add_requirement(self, r: work.Requirement) -> None:
        self.session.execute(sa.insert(requirements).values(
            id=r.id, opportunity_id=r.opportunity_id, text=r.text, priority=r.priority, answer=r.answer,
            create_time=r.create_time, update_time=r.update_time))

    def get_requirement(self, opportunity_id: str, requirement_id: str) -> work.Requirement | None:
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
    def add_activity(self, a: work.Activity) -> None:
        self.session.execute(sa.insert(activities).values(
            id=a.id, opportunity_id=a.opportunity_id, kind=a.kind, notes=a.notes, occur_time=a.occur_time,
            author_id=a.author_id, create_time=a.create_time))

    def activities(self, opportunity_id: str) -> list[work.Activity]:
        rows = self.session.execute(sa.select(activities).where(activities.c.opportunity_id == opportunity_id)
                                    .order_by(activities.c.occur_time.desc(), activities.c.id))
        return [work.Activity(id=r.id, opportunity_id=r.opportunity_id, kind=r.kind, occur_time=r.occur_time,
                              author_id=r.author_id, notes=r.notes, create_time=r.create_time) for r in rows]

    # tasks
    def add_tasks(self, new: list[work.Task]) -> None:
        if new:
            self.session.execute(sa.insert(tasks), [{f: getattr(t, f) for f in _TASK_FIELDS} for t in new])

    def get_task(self, opportunity_id: str, task_id: str) -> work.Task | None:
        row = self.session.execute(sa.select(tasks).where(tasks.c.opportunity_id == opportunity_id,
                                                          tasks.c.id == task_id).with_for_update()).first()
        return _task(row) if row else None

    def update_task(self, t: work.Task) -> None:
        self.session.execute(sa.update(tasks).where(tasks.c.id == t.id).values(
            status=t.status, complete_time=t.complete_time, completed_by=t.completed_by))

    def tasks(self, opportunity_id: str) -> list[work.Task]:
        rows = self.session.execute(sa.select(tasks).where(tasks.c.opportunity_id == opportunity_id)
                                    .order_by(tasks.c.create_time, tasks.c.id))
        return [_task(r) for r in rows]

    def open_tasks_of(self, assignee_id: str, limit: int = 500) -> list[work.Task]:
        rows = self.session.execute(sa.select(tasks).where(tasks.c.assignee_id == assignee_id,
                                                           tasks.c.status == work.OPEN)
                                    .order_by(tasks.c.due_date, tasks.c.create_time, tasks.c.id).limit(limit))
        return [_task(r) for r in rows]

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

    def team_roles(self, opportunity_id: str) -> dict[str, str]:
        """role -> the first-added team member with it."""
        rows = self.session.execute(sa.select(team_members.c.role, team_members.c.user_id)
                                    .where(team_members.c.opportunity_id == opportunity_id)
                                    .order_by(team_members.c.add_time.desc()))
        return {r.role: r.user_id for r in rows}
