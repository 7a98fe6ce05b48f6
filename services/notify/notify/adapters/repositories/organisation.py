"""notify's copy of teams' organisation: the kit's projection, each user's email, and who manages whom."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from notify.adapters.orm import contacts, org
from shangji_kit.org_projection import OrgProjection


class OrganisationRepository(OrgProjection):
    def __init__(self, session: sa.Connection) -> None:
        super().__init__(session, org)

    def save_contact(self, user_id: str, email: str, display_name: str, update_time: datetime) -> None:
        """Where to email the user; an older state than the one held is ignored."""
        stmt = pg.insert(contacts).values(user_id=user_id, email=email, display_name=display_name,
                                          update_time=update_time)
        stmt = stmt.on_conflict_do_update(
            index_elements=[contacts.c.user_id],
            set_={"email": stmt.excluded.email, "display_name": stmt.excluded.display_name,
                  "update_time": stmt.excluded.update_time},
            where=contacts.c.update_time <= stmt.excluded.update_time)
        self.session.execute(stmt)

    def heads_above(self, user_id: str) -> list[str]:
        """The user's manager: the active head of their department, or for its head the nearest active head
        above (walking the department path upwards)."""
        u, d = org.users, org.departments
        path = self.session.execute(sa.select(d.c.path).join(u, u.c.department_id == d.c.id)
                                    .where(u.c.user_id == user_id)).scalar_one_or_none()
        if not path:
            return []
        ids = [p for p in path.strip("/").split("/") if p]
        rows = dict(self.session.execute(
            sa.select(d.c.id, d.c.head_id).join(u, u.c.user_id == d.c.head_id)
            .where(d.c.id.in_(ids), u.c.active)).all())
        for dept_id in reversed(ids):
            head = rows.get(dept_id)
            if head and head != user_id:
                return [head]
        return []

    def holders_of(self, role: str) -> list[str]:
        u = org.users
        stmt = sa.select(u.c.user_id).where(u.c.active, u.c.roles.any(role)).order_by(u.c.user_id)
        return list(self.session.execute(stmt).scalars())

    def email_of(self, user_id: str) -> str:
        return self.session.execute(sa.select(contacts.c.email)
                                    .where(contacts.c.user_id == user_id)).scalar_one_or_none() or ""

    def roles_of(self, user_id: str) -> tuple[str, ...]:
        row = self.session.execute(sa.select(org.users.c.roles, org.users.c.active)
                                   .where(org.users.c.user_id == user_id)).first()
        return tuple(row.roles) if row and row.active else ()

    def manages_department(self, user_id: str, department_id: str) -> bool:
        """Heads this department or one above it."""
        d = org.departments
        path = self.session.execute(sa.select(d.c.path).where(d.c.id == department_id)).scalar_one_or_none()
        if not path:
            return False
        ids = [p for p in path.strip("/").split("/") if p]
        stmt = sa.select(sa.literal(True)).where(d.c.id.in_(ids), d.c.head_id == user_id)
        return self.session.execute(stmt).first() is not None
