"""Opportunities and pipelines in PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from opportunities.adapters.orm import opportunities, pipelines, stages
from opportunities.domain.model import Opportunity, Pipeline, Stage
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


class OpportunityRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, opportunity: Opportunity) -> bool:
        """Insert; False when the lead already yielded a deal (nothing written)."""
        values = {c: getattr(opportunity, c) for c in _COLUMNS}
        return self.session.execute(_INSERT, values).first() is not None

    def get(self, opportunity_id: str) -> Opportunity | None:
        row = self.session.execute(_SELECT.where(opportunities.c.id == opportunity_id)).first()
        return _to_opportunity(row) if row else None

    def list_owned(self, owner_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Opportunity]:
        """Newest first, in the order of the (owner_id, create_time DESC, id) index; ``after`` is the last row seen."""
        stmt = _SELECT.where(opportunities.c.owner_id == owner_id)
        if after is not None:
            time, last_id = after
            stmt = stmt.where(sa.or_(opportunities.c.create_time < time,
                                     sa.and_(opportunities.c.create_time == time, opportunities.c.id > last_id)))
        stmt = stmt.order_by(opportunities.c.create_time.desc(), opportunities.c.id).limit(limit)
        return [_to_opportunity(row) for row in self.session.execute(stmt)]


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
