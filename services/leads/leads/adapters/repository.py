"""Leads and teams' organisation projection in PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from leads.adapters.orm import leads, org, owner_changes
from leads.domain.model import OPEN, Lead
from shangji_kit import visibility
from shangji_kit.errors import Aborted
from shangji_kit.statements import insert_or_skip

_COLUMNS = ("id", "company", "contact_name", "phone", "email", "region", "source", "owner_id", "state",
            "convert_time", "version", "create_time", "update_time")
_IMMUTABLE = ("id", "create_time")
_UUID = pg.UUID(as_uuid=False)


def _to_lead(row) -> Lead:
    return Lead(**{c: getattr(row, c) for c in _COLUMNS})


_INSERT = insert_or_skip(leads, [*_COLUMNS, "request_id"], returning="id")


def _visible(viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
    return visibility.visible_clause(viewer, org, leads.c.owner_id)


class LeadRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, lead: Lead, request_id: str | None) -> Lead | None:
        """Insert; None when the request id is already taken (nothing written)."""
        values = {c: getattr(lead, c) for c in _COLUMNS}
        values["request_id"] = request_id or None
        return lead if self.session.execute(_INSERT, values).first() else None

    def get_visible(self, lead_id: str, viewer: visibility.Viewer) -> Lead | None:
        """The lead when ``viewer`` may see it; None when it is missing or hidden (the same answer)."""
        row = self.session.execute(sa.select(leads).where(leads.c.id == lead_id, _visible(viewer))).first()
        return _to_lead(row) if row else None

    def list_visible(self, viewer: visibility.Viewer, limit: int,
                     after: tuple[datetime, str] | None) -> list[Lead]:
        """The leads ``viewer`` may see, newest first, in the order of the (create_time DESC, id) indexes."""
        stmt = sa.select(leads).where(_visible(viewer))
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

    def is_active(self, user_id: str) -> bool | None:
        """True/False as teams last told us; None when teams has not told us about this user yet."""
        return visibility.is_active_user(self.session, org, user_id)
