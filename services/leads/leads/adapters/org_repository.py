"""teams' organisation as leads knows it (the projection) and the reps' assignment profiles, in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from leads.adapters.lead_repository import sales_user_exists
from leads.adapters.orm import leads, org, reps
from leads.domain.model import OPEN
from leads.domain.pool import Candidate, RepProfile
from shangji_kit import org_projection
from shangji_kit.roles import SALES_ROLES

_UUID = pg.UUID(as_uuid=False)


# Departments whose path is a prefix of the user's department's path are at or above it; the longest is nearest.
_MANAGER_OF = sa.text(
    "SELECT d.head_id FROM org_users u JOIN org_departments own ON own.id = u.department_id "
    "JOIN org_departments d ON starts_with(own.path, d.path) "
    "JOIN org_users h ON h.user_id = d.head_id AND h.active "
    "WHERE u.user_id = :user_id AND d.head_id <> :user_id ORDER BY length(d.path) DESC LIMIT 1")


class OrgProjection(org_projection.OrgProjection):
    """The kit's projection repository, with what the pool and conflicts need."""

    def is_sales(self, user_id: str) -> bool:
        """An active user with a sales role: one who works the pool."""
        return self.session.execute(sa.select(sales_user_exists(user_id))).scalar_one()

    def manager_of(self, user_id: str) -> str | None:
        """The nearest active head of a department at or above ``user_id``'s (not the user themself)."""
        return self.session.execute(_MANAGER_OF, {"user_id": user_id}).scalar()



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
        # User ids are UUIDs (names.parse): casting the projection's side lets the owner index serve the count
        # (the other way round, 1,000 reps over 1,000,000 leads took 8 s).
        # Only a rep with a capacity needs the count (the rules never read it otherwise), and PostgreSQL runs a
        # subquery in a CASE branch only for the rows that reach it: 1,000 reps without one over 1,000,000 leads
        # cost 4 s of counting.
        open_leads = sa.case((sa.func.coalesce(reps.c.capacity, 0) > 0, (
            sa.select(sa.func.count()).select_from(leads)
            .where(leads.c.owner_id == sa.cast(u.c.user_id, _UUID), leads.c.state == OPEN)
            .scalar_subquery())), else_=0)
        stmt = (sa.select(u.c.user_id, u.c.active, reps.c.territories, reps.c.expertise, reps.c.capacity,
                          reps.c.last_assigned_time, reps.c.away, open_leads.label("open_leads"))
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
                          last_assigned_time=r.last_assigned_time, away=bool(r.away))
                for r in self.session.execute(stmt)]

    def assigned_many(self, times: dict[str, datetime]) -> None:
        """``assigned`` for many reps in one statement (an import's assignments)."""
        if not times:
            return
        users = sa.func.unnest(sa.literal(list(times), pg.ARRAY(sa.Text)),
                               sa.literal(list(times.values()), pg.ARRAY(sa.DateTime(timezone=True)))
                               ).table_valued("user_id", "at").render_derived(name="given")
        stmt = pg.insert(reps).from_select(["user_id", "update_time", "last_assigned_time"],
                                           sa.select(users.c.user_id, sa.literal(_NEVER), users.c.at))
        stmt = stmt.on_conflict_do_update(index_elements=[reps.c.user_id],
                                          set_={"last_assigned_time": stmt.excluded.last_assigned_time})
        self.session.execute(stmt)

    def set_away(self, user_id: str, away: bool) -> None:
        """Mark a rep away or back (a row for a rep teams has not described yet carries the oldest update
        time, so teams' first event still applies)."""
        stmt = pg.insert(reps).values(user_id=user_id, update_time=_NEVER, away=away)
        stmt = stmt.on_conflict_do_update(index_elements=[reps.c.user_id], set_={"away": away})
        self.session.execute(stmt)

    def assigned(self, user_id: str, now: datetime) -> None:
        """Remember the auto-assignment for the round robin (a row for a rep teams has not described here
        yet carries the oldest update time, so teams' first event still applies)."""
        stmt = pg.insert(reps).values(user_id=user_id, update_time=_NEVER, last_assigned_time=now)
        stmt = stmt.on_conflict_do_update(index_elements=[reps.c.user_id], set_={"last_assigned_time": now})
        self.session.execute(stmt)
