"""Leads in PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from leads.adapters.orm import leads
from leads.domain.model import Lead
from shangji_kit.errors import Aborted
from shangji_kit.statements import insert_or_skip

_COLUMNS = ("id", "company", "contact_name", "phone", "email", "region", "source", "owner_id", "state",
            "convert_time", "version", "create_time", "update_time")
_IMMUTABLE = ("id", "create_time")


def _to_lead(row) -> Lead:
    return Lead(**{c: getattr(row, c) for c in _COLUMNS})


_INSERT = insert_or_skip(leads, [*_COLUMNS, "request_id"], returning="id")


class LeadRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, lead: Lead, request_id: str | None) -> Lead | None:
        """Insert; None when the request id is already taken (nothing written)."""
        values = {c: getattr(lead, c) for c in _COLUMNS}
        values["request_id"] = request_id or None
        return lead if self.session.execute(_INSERT, values).first() else None

    def get(self, lead_id: str) -> Lead | None:
        row = self.session.execute(sa.select(leads).where(leads.c.id == lead_id)).first()
        return _to_lead(row) if row else None

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
