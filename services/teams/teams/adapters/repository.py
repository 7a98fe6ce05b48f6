"""Users in PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from shangji_kit.statements import insert_or_skip
from teams.adapters.orm import users
from teams.domain.model import User

_COLUMNS = ("id", "display_name", "email", "phone", "department", "active", "version", "create_time", "update_time")


def _to_user(row) -> User:
    return User(**{c: getattr(row, c) for c in _COLUMNS})


_INSERT = insert_or_skip(users, [*_COLUMNS, "request_id"], returning="id")


class UserRepository:
    def __init__(self, session: sa.Connection) -> None:
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
