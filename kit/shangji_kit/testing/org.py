"""Test builders for teams' organisation events, for every service that keeps the projection.

``teams_event`` wraps a teams message in the envelope teams' relay would publish; ``user_event`` and
``department_event`` build the envelopes; ``OrgBuilder(worker)`` also hands them to a worker's
handlers (``shangji_kit.org_handlers``), one event per change, with strictly increasing times.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from shangji.teams.v1 import events_pb2 as teams_events
from shangji.teams.v1 import teams_pb2
from shangji_kit import timestamps
from shangji_kit.testing import envelopes

_clock = itertools.count()


def later() -> datetime:
    """Strictly increasing times, so each state a test sends is newer than the one before."""
    return datetime.now(UTC) + timedelta(microseconds=next(_clock))


def ts(value: datetime) -> Timestamp:
    return timestamps.from_datetime(value)


def teams_event(message: Message, *, subject: str = "", event_id: str | None = None) -> dict:
    return envelopes.published("teams", message, subject=subject, event_id=event_id)


def user_event(user_id: str | None = None, *, department: str | None = None, roles=("sales_rep",),
               active: bool = True, at: datetime | None = None, kind: str = "UserCreated",
               event_id: str | None = None) -> dict:
    """A UserCreated/UserUpdated/UserDeactivated envelope carrying the user's whole state."""
    user_id = user_id or str(uuid.uuid4())
    user = teams_pb2.User(name=f"users/{user_id}", id=user_id, display_name=f"用户 {user_id[:4]}",
                          email=f"{user_id[:8]}@example.com",
                          department=f"departments/{department}" if department else "", active=active,
                          roles=list(roles), update_time=ts(at or later()))
    return teams_event(getattr(teams_events, kind)(user=user), subject=user.name, event_id=event_id)


def department_event(dept_id: str, path: str, *, parent: str | None = None, head: str | None = None,
                     at: datetime | None = None, event_id: str | None = None) -> dict:
    dept = teams_pb2.Department(name=f"departments/{dept_id}", id=dept_id, display_name=f"部门 {dept_id[:4]}",
                                parent=f"departments/{parent}" if parent else "",
                                head=f"users/{head}" if head else "", path=path, update_time=ts(at or later()))
    return teams_event(teams_events.DepartmentChanged(department=dept), subject=dept.name, event_id=event_id)


class OrgBuilder:
    """Teams' organisation told to a worker as teams would tell it. ``*_event`` methods return the envelope;
    ``department`` and ``user`` also hand it to the worker."""

    def __init__(self, worker) -> None:
        self.worker = worker
        self.paths: dict[str, str] = {}

    def department_event(self, dept_id: str | None = None, *, parent: str | None = None, head: str | None = None,
                         at: datetime | None = None) -> dict:
        dept_id = dept_id or str(uuid.uuid4())
        path = f"{self.paths[parent] if parent else '/'}{dept_id}/"
        self.paths[dept_id] = path
        return department_event(dept_id, path, parent=parent, head=head, at=at)

    def department(self, dept_id: str | None = None, **kw) -> str:
        body = self.department_event(dept_id, **kw)
        self.worker.on_department_changed(body)
        return body["data"]["department"]["id"]

    def user_event(self, user_id: str | None = None, **kw) -> dict:
        return user_event(user_id, **kw)

    def user(self, user_id: str | None = None, *, kind: str = "UserCreated", **kw) -> str:
        body = self.user_event(user_id, kind=kind, **kw)
        handler = {"UserCreated": self.worker.on_user_created, "UserUpdated": self.worker.on_user_updated,
                   "UserDeactivated": self.worker.on_user_deactivated}[kind]
        handler(body)
        return body["data"]["user"]["id"]
