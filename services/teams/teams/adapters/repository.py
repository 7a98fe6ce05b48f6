"""Users in PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Session

from teams.adapters.orm import users
from teams.domain.model import User

_COLUMNS = ("id", "display_name", "email", "phone", "department", "active", "version", "create_time", "update_time")


def _to_user(row) -> User:
    return User(**{c: getattr(row, c) for c in _COLUMNS})


# Built once with bind parameters, so SQLAlchemy caches its compiled form (values() inline is not).
_INSERT = pg.insert(users).on_conflict_do_nothing().returning(users.c.id)


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User, request_id: str | None) -> User | None:
        """Insert; None when the request id or the email is already taken (nothing written)."""
        values = {c: getattr(user, c) for c in _COLUMNS}
        values["request_id"] = request_id or None
        return user if self.session.execute(_INSERT, values).first() else None

    def get(self, user_id: str) -> User | None:
        row = self.session.execute(sa.select(users).where(users.c.id == user_id)).first()
        return _to_user(row) if row else None

    def get_by_request_id(self, request_id: str) -> User | None:
        row = self.session.execute(sa.select(users).where(users.c.request_id == request_id)).first()
        return _to_user(row) if row else None
