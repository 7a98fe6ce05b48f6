"""Leads and teams' organisation projection in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from leads.adapters.orm import follow_ups, leads, org, owner_changes, pool_settings, reps
from leads.domain.model import OPEN, Lead
from leads.domain.pool import SALES_ROLES, WARNING_AHEAD, Candidate, FollowUp, PoolSettings, RepProfile
from shangji_kit import visibility
from shangji_kit.errors import Aborted
from shangji_kit.statements import insert_or_skip

_COLUMNS = ("id", "company", "contact_name", "phone", "email", "region", "source", "owner_id", "state",
            "convert_time", "version", "create_time", "update_time", "industry", "hold_time", "last_follow_up_time",
            "first_response_time", "previous_owner_id", "reclaim_barred_until", "recycle_warned_for")
_IMMUTABLE = ("id", "create_time")
_UUID = pg.UUID(as_uuid=False)


def _to_lead(row) -> Lead:
    return Lead(**{c: getattr(row, c) for c in _COLUMNS})


_INSERT = insert_or_skip(leads, [*_COLUMNS, "request_id"], returning="id")


def _days(n: int) -> sa.ColumnElement:
    return sa.literal(timedelta(days=n), sa.Interval)


def _is_sales(user_id: str) -> sa.Exists:
    u = org.users
    return sa.exists().where(u.c.user_id == user_id, u.c.active,
                             u.c.roles.overlap(sa.literal(list(SALES_ROLES), pg.ARRAY(sa.Text))))


def _visible(viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
    # The pool is open to every active sales user (an uncorrelated EXISTS: one init plan per query).
    in_pool = sa.and_(leads.c.owner_id.is_(None), _is_sales(viewer.user_id))
    return visibility.visible_clause(viewer, org, leads.c.owner_id, extra=[in_pool])


class LeadRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, lead: Lead, request_id: str | None) -> Lead | None:
        """Insert; None when the request id is already taken (nothing written)."""
        values = {c: getattr(lead, c) for c in _COLUMNS}
        values["request_id"] = request_id or None
        return lead if self.session.execute(_INSERT, values).first() else None

    def get_visible(self, lead_id: str, viewer: visibility.Viewer, *, for_update: bool = False) -> Lead | None:
        """The lead when ``viewer`` may see it; None when it is missing or hidden (the same answer)."""
        stmt = sa.select(leads).where(leads.c.id == lead_id, _visible(viewer))
        if for_update:
            stmt = stmt.with_for_update(of=leads)
        row = self.session.execute(stmt).first()
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

    def list_visible(self, viewer: visibility.Viewer, limit: int, after: tuple[datetime, str] | None,
                     in_pool: bool = False) -> list[Lead]:
        """The held leads ``viewer`` may see (or, ``in_pool``, the pool's), newest first, in the order of the
        (create_time DESC, id) indexes."""
        held = leads.c.owner_id.is_(None) if in_pool else leads.c.owner_id.is_not(None)
        stmt = sa.select(leads).where(held, _visible(viewer))
        if after is not None:
            time, last_id = after
            stmt = stmt.where(sa.or_(leads.c.create_time < time,
                                     sa.and_(leads.c.create_time == time, leads.c.id > last_id)))
        stmt = stmt.order_by(leads.c.create_time.desc(), leads.c.id).limit(limit)
        return [_to_lead(row) for row in self.session.execute(stmt)]

    def get_by_request_id(self, request_id: str) -> Lead | None:
        row = self.session.execute(sa.select(leads).where(leads.c.request_id == request_id)).first()
        return _to_lead(row) if row else None

    def update(self, lead: Lead, expected_version: int) -> None:
        """Write the lead if nobody else did since it was read at ``expected_version``; ABORTED otherwise."""
        values = {c: getattr(lead, c) for c in _COLUMNS if c not in _IMMUTABLE}
        stmt = (sa.update(leads)
                .where(leads.c.id == lead.id, leads.c.version == expected_version)
                .values(**values))
        if self.session.execute(stmt).rowcount == 0:
            raise Aborted(f"{lead.name} was changed concurrently; re-read it and retry",
                          metadata={"resource": lead.name})

    def hand_over_open(self, from_owner_id: str, to_owner_id: str, transfer_id: str, change_time: datetime,
                       now: datetime) -> list[str]:
        """Move every OPEN lead of ``from_owner_id`` to ``to_owner_id`` and record each move; the ids moved.

        One statement: the UPDATE (a new version, so a conversion that read the old one gets ABORTED)
        feeds the history INSERT. Converted leads keep their owner.
        """
        moved = (sa.update(leads)
                 .where(leads.c.owner_id == from_owner_id, leads.c.state == OPEN)
                 .values(owner_id=to_owner_id, version=leads.c.version + 1, update_time=now)
                 .returning(leads.c.id)
                 .cte("moved"))
        history = (pg.insert(owner_changes)
                   .from_select(["lead_id", "transfer_id", "from_owner_id", "to_owner_id", "change_time"],
                                sa.select(moved.c.id, sa.literal(transfer_id, sa.Text),
                                          sa.literal(from_owner_id, _UUID), sa.literal(to_owner_id, _UUID),
                                          sa.literal(change_time, sa.DateTime(timezone=True))))
                   .on_conflict_do_nothing()
                   .returning(owner_changes.c.lead_id))
        return [str(r.lead_id) for r in self.session.execute(history)]


class OrgProjection:
    """teams' users and departments as leads knows them (``shangji_kit.visibility``)."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def apply_user(self, user: visibility.OrgUser) -> None:
        visibility.apply_user(self.session, org, user)

    def apply_department(self, department: visibility.OrgDepartment) -> None:
        visibility.apply_department(self.session, org, department)

    def viewer(self, user_id: str) -> visibility.Viewer:
        return visibility.load_viewer(self.session, org, user_id)

    def manages(self, viewer: visibility.Viewer, owner_id: str) -> bool:
        return visibility.manages(self.session, org, viewer, owner_id)

    def is_sales(self, user_id: str) -> bool:
        """An active user with a sales role: one who works the pool."""
        return self.session.execute(sa.select(_is_sales(user_id))).scalar_one()

    def is_active(self, user_id: str) -> bool | None:
        """True/False as teams last told us; None when teams has not told us about this user yet."""
        return visibility.is_active_user(self.session, org, user_id)


_NEVER = datetime.min.replace(tzinfo=UTC)


class RepRepository:
    """Reps' territories, expertise and capacity (teams' user events) and the round robin's memory."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def apply_profile(self, profile: RepProfile) -> None:
        """Upsert from a user event; an older state than the one held is ignored."""
        stmt = pg.insert(reps).values(user_id=profile.user_id, territories=list(profile.territories),
                                      expertise=list(profile.expertise), capacity=profile.capacity,
                                      update_time=profile.update_time)
        stmt = stmt.on_conflict_do_update(
            index_elements=[reps.c.user_id],
            set_={"territories": stmt.excluded.territories, "expertise": stmt.excluded.expertise,
                  "capacity": stmt.excluded.capacity, "update_time": stmt.excluded.update_time},
            where=reps.c.update_time <= stmt.excluded.update_time)
        self.session.execute(stmt)

    def candidates(self, below_paths: tuple[str, ...] | None) -> list[Candidate]:
        """Every sales user (active or not: the rules skip the inactive) with profile, open leads held and
        last auto-assignment; only those in the departments under ``below_paths`` unless it is None.
        Their rep rows are locked, so two auto-assignments take turns and the round robin stays fair."""
        u, d = org.users, org.departments
        open_leads = (sa.select(sa.func.count()).select_from(leads)
                      .where(sa.cast(leads.c.owner_id, sa.Text) == u.c.user_id, leads.c.state == OPEN)
                      .scalar_subquery())
        stmt = (sa.select(u.c.user_id, u.c.active, reps.c.territories, reps.c.expertise, reps.c.capacity,
                          reps.c.last_assigned_time, open_leads.label("open_leads"))
                .select_from(u.outerjoin(reps, reps.c.user_id == u.c.user_id))
                .where(u.c.roles.overlap(sa.literal(list(SALES_ROLES), pg.ARRAY(sa.Text))))
                .order_by(u.c.user_id))
        if below_paths is not None:
            if not below_paths:
                return []
            stmt = stmt.join(d, d.c.id == u.c.department_id).where(
                sa.or_(*(d.c.path.startswith(p, autoescape=True) for p in below_paths)))
        # Lock the projection row (reps rows may not exist yet): auto-assignments take turns.
        stmt = stmt.with_for_update(of=u)
        return [Candidate(user_id=r.user_id, active=r.active, territories=tuple(r.territories or ()),
                          expertise=tuple(r.expertise or ()), capacity=r.capacity or 0, open_leads=r.open_leads,
                          last_assigned_time=r.last_assigned_time)
                for r in self.session.execute(stmt)]

    def assigned(self, user_id: str, now: datetime) -> None:
        """Remember the auto-assignment for the round robin (a row for a rep teams has not described here
        yet carries the oldest update time, so teams' first event still applies)."""
        stmt = pg.insert(reps).values(user_id=user_id, update_time=_NEVER, last_assigned_time=now)
        stmt = stmt.on_conflict_do_update(index_elements=[reps.c.user_id], set_={"last_assigned_time": now})
        self.session.execute(stmt)


class PoolSettingsRepository:
    """The company's pool settings (one row, ``company = 'default'``)."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def get(self) -> PoolSettings:
        row = self.session.execute(sa.select(pool_settings).where(pool_settings.c.company == "default")).first()
        if row is None:
            return PoolSettings()
        return PoolSettings(claim_cap=row.claim_cap, return_reasons=tuple(row.return_reasons),
                            recycle_after_days_without_follow_up=row.recycle_after_days_without_follow_up,
                            recycle_after_days_unconverted=row.recycle_after_days_unconverted,
                            reclaim_bar_days=row.reclaim_bar_days)
