"""Teams' organisation as a service keeps it: the projection's repository and the use cases that feed it.

Every service with record-level visibility keeps the same projection (``shangji_kit.visibility``);
this is its one repository (``uow.org``) and its one pair of idempotent use cases. A service that does
more on a user event (samples hands a departed approver's steps on) writes its own effect around
``uow.org.apply_user``.
"""

from __future__ import annotations

import sqlalchemy as sa

from shangji_kit import visibility
from shangji_kit.inbox import idempotent
from shangji_kit.visibility import OrgDepartment, OrgTables, OrgUser, Viewer


class OrgProjection:
    """The ``org_users`` / ``org_departments`` rows on the unit of work's connection."""

    def __init__(self, session: sa.Connection, tables: OrgTables) -> None:
        self.session = session
        self.tables = tables

    def apply_user(self, user: OrgUser) -> None:
        visibility.apply_user(self.session, self.tables, user)

    def apply_department(self, department: OrgDepartment) -> None:
        visibility.apply_department(self.session, self.tables, department)

    def viewer(self, user_id: str) -> Viewer:
        return visibility.load_viewer(self.session, self.tables, user_id)

    def is_active(self, user_id: str) -> bool | None:
        """True/False as teams last said; None when teams has not told us about this user yet."""
        return visibility.is_active_user(self.session, self.tables, user_id)

    def roles_of(self, user_id: str) -> tuple[str, ...] | None:
        """The user's roles as teams last said; None when teams has not told us about this user yet."""
        u = self.tables.users
        row = self.session.execute(sa.select(u.c.roles).where(u.c.user_id == user_id)).first()
        return None if row is None else tuple(row.roles or ())

    def department_of(self, user_id: str) -> str | None:
        u = self.tables.users
        return self.session.execute(sa.select(u.c.department_id).where(u.c.user_id == user_id)).scalar()

    def manages(self, viewer: Viewer, owner_id: str) -> bool:
        """Whether ``viewer`` heads a department at or above ``owner_id``'s department."""
        return visibility.manages(self.session, self.tables, viewer, owner_id)


@idempotent(skipped=False)
def record_user(uow, user: OrgUser) -> bool:
    """UserCreated/UserUpdated/UserDeactivated into ``uow.org``; False for a redelivery. A state older than
    the one held is ignored (by update time), so reordered events leave the projection right."""
    uow.org.apply_user(user)
    return True


@idempotent(skipped=False)
def record_department(uow, department: OrgDepartment) -> bool:
    """DepartmentChanged into ``uow.org``; False for a redelivery. Older states are ignored."""
    uow.org.apply_department(department)
    return True
