"""The leads reports' SQL: per-rep activity over the leads a viewer may open.

``ReportsUnitOfWork`` opens one read transaction and hands out a ``ReportStore``; every figure it returns is
filtered first by the kit's visibility rule for the viewer over the lead's owner (the pool is left out: reports
are per rep).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from leads.adapters.orm import campaigns, follow_ups, leads, opportunity_outcomes, org
from leads.adapters.reports_tables import lead_touches
from shangji_kit import company_time, visibility
from shangji_kit.errors import NotFound
from shangji_kit.uow import StoreUnitOfWork


def _bucket(column: sa.ColumnElement, tz: str, granularity: str) -> sa.ColumnElement:
    """A timestamptz's company week or month, as its first day."""
    return sa.cast(sa.func.date_trunc(granularity, sa.func.timezone(tz, column)), sa.Date)


class ReportStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.tz = company_time.zone().key

    def viewer(self, user_id: str) -> visibility.Viewer:
        return visibility.load_viewer(self.conn, org, user_id)

    def scope(self, viewer: visibility.Viewer, department_id: str | None, owner_id: str | None) -> list:
        """WHERE clauses on leads: visible to ``viewer`` and owned in the scope; NOT_FOUND for an unknown name."""
        where: list = [leads.c.owner_id.is_not(None), visibility.visible_clause(viewer, org, leads.c.owner_id)]
        if department_id:
            path = self.conn.execute(sa.select(org.departments.c.path)
                                     .where(org.departments.c.id == department_id)).scalar()
            if path is None:
                raise NotFound(f"departments/{department_id}")
            u, d = org.users, org.departments
            where.append(leads.c.owner_id.in_(
                sa.select(sa.cast(u.c.user_id, leads.c.owner_id.type)).join(d, d.c.id == u.c.department_id)
                .where(d.c.path.startswith(path, autoescape=True))))
        if owner_id:
            known = self.conn.execute(sa.select(org.users.c.user_id).where(org.users.c.user_id == owner_id)).first()
            if known is None:
                raise NotFound(f"users/{owner_id}")
            where.append(leads.c.owner_id == owner_id)
        return where

    def new_leads(self, where: list, start: datetime, end: datetime, granularity: str
                  ) -> dict[tuple[str, date], int]:
        """Leads created in [start, end), by their holder now and the company week or month they came in."""
        bucket = _bucket(leads.c.create_time, self.tz, granularity).label("bucket")
        stmt = (sa.select(leads.c.owner_id, bucket, sa.func.count())
                .where(leads.c.create_time >= start, leads.c.create_time < end, *where)
                .group_by(leads.c.owner_id, bucket))
        return {(owner, b): n for owner, b, n in self.conn.execute(stmt)}

    def follow_ups(self, where: list, start: datetime, end: datetime, granularity: str
                   ) -> dict[tuple[str, date], int]:
        """Follow-ups recorded in [start, end) on leads ``where`` keeps, by their author."""
        f = follow_ups
        bucket = _bucket(f.c.create_time, self.tz, granularity).label("bucket")
        stmt = (sa.select(f.c.author_id, bucket, sa.func.count()).select_from(f.join(leads, leads.c.id == f.c.lead_id))
                .where(f.c.create_time >= start, f.c.create_time < end, *where).group_by(f.c.author_id, bucket))
        return {(author, b): n for author, b, n in self.conn.execute(stmt)}

    def first_responses(self, where: list, start: datetime, end: datetime, granularity: str
                        ) -> dict[tuple[str, date], tuple[int, float]]:
        """Holdings first answered in [start, end) (hold time + first-response time), by holder: (count, mean s)."""
        answered = leads.c.hold_time + leads.c.first_response_time
        bucket = _bucket(answered, self.tz, granularity).label("bucket")
        seconds = sa.func.extract("epoch", leads.c.first_response_time)
        stmt = (sa.select(leads.c.owner_id, bucket, sa.func.count(), sa.func.avg(seconds))
                .where(leads.c.first_response_time.is_not(None), leads.c.hold_time.is_not(None), answered >= start,
                       answered < end, *where)
                .group_by(leads.c.owner_id, bucket))
        return {(owner, b): (n, float(avg)) for owner, b, n, avg in self.conn.execute(stmt)}

    def won_outcomes(self, where: list, start: datetime, end: datetime) -> list[tuple[str, Decimal]]:
        """(lead id, amount) of the deals from leads ``where`` keeps that are won, their win heard in [start, end)."""
        oc = opportunity_outcomes
        stmt = (sa.select(oc.c.lead_id, oc.c.amount).select_from(oc.join(leads, leads.c.id == oc.c.lead_id))
                .where(oc.c.won, oc.c.change_time >= start, oc.c.change_time < end, *where)
                .order_by(oc.c.change_time, oc.c.opportunity))
        return [(lead_id, amount) for lead_id, amount in self.conn.execute(stmt)]

    def touches(self, lead_ids: list[str]) -> dict[str, list[str]]:
        """Each lead's campaign touches, oldest first."""
        t = lead_touches
        stmt = (sa.select(t.c.lead_id, t.c.campaign_id).where(t.c.lead_id.in_(lead_ids))
                .order_by(t.c.lead_id, t.c.touch_time, t.c.id))
        out: dict[str, list[str]] = {}
        for lead_id, campaign_id in self.conn.execute(stmt):
            out.setdefault(lead_id, []).append(campaign_id)
        return out

    def campaign_names(self, campaign_ids: list[str]) -> dict[str, str]:
        stmt = sa.select(campaigns.c.id, campaigns.c.display_name).where(campaigns.c.id.in_(campaign_ids))
        return dict(self.conn.execute(stmt).all())


class ReportsUnitOfWork(StoreUnitOfWork[ReportStore]):
    """``with uow as store: ...``; read only, rolled back on leaving."""

    def __init__(self, sessions: Callable[[], sa.Connection]) -> None:
        super().__init__(sessions, ReportStore)

