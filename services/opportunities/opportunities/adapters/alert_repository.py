"""Alerts already raised, and the deals a scan looks at, in PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from opportunities.adapters.deal_rows import SELECT, to_opportunity
from opportunities.adapters.orm import alerts_sent, opportunities, org, pipeline_stages
from opportunities.domain.alerts import Alert
from opportunities.domain.model import OPEN, Opportunity


class AlertRepository:
    """Alerts already raised, and the deals a scan looks at."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def candidates(self, close_by: date, entered_before: datetime) -> list[Opportunity]:
        """Active, owned deals in open stages whose close date is on or before ``close_by`` or which entered
        their stage before ``entered_before`` (the pure rules decide which alerts are due)."""
        stmt = SELECT.where(pipeline_stages.c.category == OPEN, opportunities.c.registration_state == "active",
                             opportunities.c.owner_id.is_not(None),
                             sa.or_(opportunities.c.expected_close_date <= close_by,
                                    opportunities.c.stage_enter_time < entered_before))
        return [to_opportunity(row) for row in self.session.execute(stmt.order_by(opportunities.c.id))]

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
