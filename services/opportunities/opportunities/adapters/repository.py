"""Opportunities, pipelines, opportunity teams and teams' organisation in PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from opportunities.adapters.orm import opportunities, org, owner_changes, pipelines, stages, team_members
from opportunities.domain.model import OPEN, Opportunity, Pipeline, Stage, TeamMember
from shangji_kit import visibility
from shangji_kit.statements import insert_or_skip

_COLUMNS = ("id", "title", "customer_company", "contact_name", "contact_phone", "contact_email", "region", "source",
            "owner_id", "registrant_id", "pipeline_id", "stage_key", "lead_id", "version", "create_time",
            "update_time")

# The stage's display name travels with every opportunity read, so reads join stages.
_SELECT = sa.select(opportunities, stages.c.display_name.label("stage_display_name")).join(
    stages, sa.and_(stages.c.pipeline_id == opportunities.c.pipeline_id, stages.c.key == opportunities.c.stage_key))


def _to_opportunity(row) -> Opportunity:
    return Opportunity(stage_display_name=row.stage_display_name, **{c: getattr(row, c) for c in _COLUMNS})


_INSERT = insert_or_skip(opportunities, _COLUMNS, returning="id", conflict_columns=["lead_id"])

_UUID = opportunities.c.owner_id.type
_TIME = opportunities.c.update_time.type


def visible(viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
    """The deals ``viewer`` may see (ARCHITECTURE.md section 6), by the kit's rules."""
    team_ids = sa.select(team_members.c.opportunity_id).where(team_members.c.user_id == viewer.user_id)
    return visibility.visible_clause(viewer, org, opportunities.c.owner_id, team_ids=team_ids,
                                     id_col=opportunities.c.id)


class OpportunityRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, opportunity: Opportunity) -> bool:
        """Insert; False when the lead already yielded a deal (nothing written)."""
        values = {c: getattr(opportunity, c) for c in _COLUMNS}
        return self.session.execute(_INSERT, values).first() is not None

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

    def update(self, opportunity: Opportunity, expected_version: int) -> bool:
        """Write the changeable fields back; False when the row no longer has ``expected_version``."""
        stmt = (sa.update(opportunities)
                .where(opportunities.c.id == opportunity.id, opportunities.c.version == expected_version)
                .values(title=opportunity.title, version=opportunity.version, update_time=opportunity.update_time))
        return self.session.execute(stmt).rowcount == 1

    def transfer_open(self, from_owner_id: str, to_owner_id: str, transfer_id: str, change_time: datetime,
                      now: datetime) -> list[str]:
        """Give every open deal of ``from_owner_id`` to ``to_owner_id`` and record each move; the moved ids.

        Won and lost deals stay with whoever won or lost them; a deal's stage and history do not change.
        """
        open_stage = sa.select(stages.c.key).where(stages.c.pipeline_id == opportunities.c.pipeline_id,
                                                   stages.c.key == opportunities.c.stage_key,
                                                   stages.c.category == OPEN)
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

    def get(self, opportunity_id: str, user_id: str) -> TeamMember | None:
        row = self.session.execute(sa.select(team_members).where(
            team_members.c.opportunity_id == opportunity_id, team_members.c.user_id == user_id)).first()
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


class PipelineRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def default(self) -> Pipeline | None:
        row = self.session.execute(sa.select(pipelines).where(pipelines.c.is_default)).first()
        if row is None:
            return None
        stage_rows = self.session.execute(
            sa.select(stages).where(stages.c.pipeline_id == row.id).order_by(stages.c.position))
        return Pipeline(id=row.id, key=row.key, display_name=row.display_name, is_default=row.is_default,
                        stages=tuple(Stage(key=s.key, display_name=s.display_name, category=s.category,
                                           probability=s.probability, position=s.position) for s in stage_rows))
