"""Teams use cases: a command in, state and events out, one transaction each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from shangji_kit.errors import AlreadyExists, NotFound
from teams.domain import model
from teams.service_layer.unit_of_work import TeamsUnitOfWork


@dataclass(frozen=True)
class CreateUser:
    display_name: str
    email: str
    phone: str = ""
    department: str = ""
    request_id: str = ""


def create_user(cmd: CreateUser, uow: TeamsUnitOfWork) -> model.User:
    user = model.new_user(id=str(uuid.uuid4()), display_name=cmd.display_name, email=cmd.email, phone=cmd.phone,
                          department=cmd.department, now=datetime.now(timezone.utc))
    with uow:
        if cmd.request_id:
            earlier = uow.users.get_by_request_id(cmd.request_id)
            if earlier:
                return earlier
        if uow.users.add(user, cmd.request_id) is None:
            # A concurrent create took the request id or the email first; ours wrote nothing.
            earlier = uow.users.get_by_request_id(cmd.request_id) if cmd.request_id else None
            if earlier:
                return earlier
            raise AlreadyExists(f"a user with email {user.email} exists", reason="EMAIL_TAKEN",
                                metadata={"email": user.email})
        uow.publish(user.events)
        uow.commit()
        return user


def get_user(user_id: str, uow: TeamsUnitOfWork) -> model.User:
    with uow:
        user = uow.users.get(user_id)
        if user is None:
            raise NotFound(f"users/{user_id}")
        return user
