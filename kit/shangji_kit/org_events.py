"""teams' organisation events read into the visibility projection's records, for every service that keeps
the projection (``shangji_kit.visibility``): one reading of the contract instead of one per service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf.message import Message

from shangji.teams.v1 import events_pb2 as teams_events
from shangji_kit import names
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument
from shangji_kit.visibility import OrgDepartment, OrgUser

USER_EVENTS = (teams_events.UserCreated, teams_events.UserUpdated, teams_events.UserDeactivated)


def _time(message: Message, name: str, field: str) -> datetime:
    if not message.HasField(name):
        raise InvalidArgument.field(field, "required")
    return getattr(message, name).ToDatetime(tzinfo=UTC)


def _optional(name: str, collection: str, field: str) -> str | None:
    return names.parse(name, collection, field) if name else None


def _own_id(id_: str, name: str, collection: str, field: str) -> str:
    """A message's own id: its ``id`` when set, else the id in its resource name."""
    if not id_:
        return names.parse(name, collection, f"{field}.name")
    try:
        return str(uuid.UUID(id_))
    except ValueError as exc:
        raise InvalidArgument.field(f"{field}.id", f"{id_!r} is not a valid id") from exc


def user_event_type(env: Envelope) -> type[Message]:
    """The message type of a UserCreated, UserUpdated or UserDeactivated envelope; INVALID_ARGUMENT otherwise."""
    message_type = next((m for m in USER_EVENTS if m.DESCRIPTOR.full_name == env.type), None)
    if message_type is None:
        raise InvalidArgument.field("type", f"not a teams user event: {env.type}")
    return message_type


def user_from_event(env: Envelope) -> OrgUser:
    """The user's whole state a UserCreated, UserUpdated or UserDeactivated event carries."""
    message_type = user_event_type(env)
    user = env.payload(message_type).user
    return OrgUser(
        user_id=_own_id(user.id, user.name, "users", "user"),
        department_id=_optional(user.department, "departments", "user.department"),
        roles=tuple(user.roles),
        # A deactivation is one whatever the flag says.
        active=user.active and message_type is not teams_events.UserDeactivated,
        update_time=_time(user, "update_time", "user.update_time"))


def department_from_event(env: Envelope) -> OrgDepartment:
    """A department's whole state from DepartmentChanged; its path must run from the root to it."""
    department = env.payload(teams_events.DepartmentChanged).department
    dept_id = _own_id(department.id, department.name, "departments", "department")
    path = department.path
    if not (path.startswith("/") and path.endswith(f"/{dept_id}/")):
        raise InvalidArgument.field("department.path", f"must run from the root to this department, got {path!r}")
    return OrgDepartment(
        id=dept_id, parent_id=_optional(department.parent, "departments", "department.parent"), path=path,
        head_id=_optional(department.head, "users", "department.head"),
        update_time=_time(department, "update_time", "department.update_time"))
