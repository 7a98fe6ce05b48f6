"""Fixtures of leads' integration tests: the front in-process, the worker's handlers, teams' events.

The worker's handlers are called in this process through nameko's ``worker_factory`` with envelopes
as teams' relay publishes them, against the session's real leads database; ``org`` builds a
department tree and its people that way, so the projection is fed exactly as in production.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.message import Message
from nameko.testing.services import worker_factory

from leads import bootstrap
from leads.entrypoints import grpc_api
from leads.entrypoints.worker import LeadsWorker
from shangji.leads.v1 import leads_pb2_grpc
from shangji.teams.v1 import events_pb2 as teams_events
from shangji.teams.v1 import teams_pb2
from shangji_kit.rpc.client import Caller
from shangji_kit.settings import Settings
from shangji_kit.testing.org import teams_event
from shangji_kit.testing.org import ts as _ts
from shangji_kit.testing.processes import running_front
from shangji_kit.testing.service_db import ServiceDb


@pytest.fixture(scope="module")
def front(shangji_env):
    with running_front("leads", grpc_api.register) as f:
        yield f


@pytest.fixture
def channel(front):
    ch = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    yield ch
    ch.close()


@pytest.fixture
def as_user(channel, token_for):
    """A caller acting as a user (a fresh one by default): ``user_id, leads = as_user()``."""

    def make(user_id: str | None = None):
        user_id = user_id or str(uuid.uuid4())
        return user_id, Caller(leads_pb2_grpc.LeadsServiceStub(channel), token_for(user_id))

    return make


@pytest.fixture
def worker(shangji_env):
    """The nameko worker's handlers, wired to the session's real database."""
    return worker_factory(LeadsWorker, uow=bootstrap.uow_factory(Settings.for_service("leads")))


@pytest.fixture
def query(shangji_env):
    """``query(sql, **params)``: rows read from the leads database."""
    return ServiceDb("leads").rows


class TeamsEvents:
    """Envelopes of teams' events as teams' relay publishes them (``id`` fresh unless given)."""

    envelope = staticmethod(teams_event)

    @classmethod
    def user(cls, kind: type[Message], user_id: str, *, department: str | None = None, roles=(),
             active: bool = True, update_time: datetime | None = None, event_id: str | None = None,
             territories=(), expertise=(), capacity: int = 0) -> dict:
        """``kind`` is UserCreated, UserUpdated or UserDeactivated; the payload is the whole user."""
        user = teams_pb2.User(
            name=f"users/{user_id}", id=user_id, display_name="用户", email=f"{user_id}@example.com",
            department=f"departments/{department}" if department else "", roles=list(roles), active=active,
            update_time=_ts(update_time or datetime.now(UTC)), territories=list(territories),
            expertise=list(expertise), capacity=capacity)
        return cls.envelope(kind(user=user), subject=user.name, event_id=event_id)

    @classmethod
    def department(cls, department_id: str, *, path: str, parent: str | None = None, head: str | None = None,
                   update_time: datetime | None = None, event_id: str | None = None) -> dict:
        dept = teams_pb2.Department(
            name=f"departments/{department_id}", id=department_id, display_name="部门",
            parent=f"departments/{parent}" if parent else "", head=f"users/{head}" if head else "", path=path,
            update_time=_ts(update_time or datetime.now(UTC)))
        return cls.envelope(teams_events.DepartmentChanged(department=dept), subject=dept.name, event_id=event_id)

    @classmethod
    def transfer(cls, from_user: str, to_user: str, *, transfer_id: str | None = None,
                 transfer_time: datetime | None = None, event_id: str | None = None) -> dict:
        message = teams_events.OwnershipTransferred(
            transfer_id=transfer_id or str(uuid.uuid4()), from_user=f"users/{from_user}", to_user=f"users/{to_user}",
            requested_by=f"users/{uuid.uuid4()}", transfer_time=_ts(transfer_time or datetime.now(UTC)))
        return cls.envelope(message, subject=f"users/{from_user}", event_id=event_id)


@pytest.fixture
def teams():
    """Builders of teams' event envelopes: ``teams.user(UserCreated, id, ...)``, ``teams.department(...)``,
    ``teams.transfer(from_id, to_id)``."""
    return TeamsEvents


_KEEP = object()


class Org:
    """Departments and people, made by feeding the worker the events teams would publish."""

    def __init__(self, worker) -> None:
        self.worker = worker
        self.departments: dict[str, dict] = {}
        self.users: dict[str, dict] = {}

    def path(self, department_id: str | None) -> str:
        if department_id is None:
            return "/"
        return f"{self.path(self.departments[department_id]['parent'])}{department_id}/"

    def department(self, *, parent: str | None = None, head: str | None = None) -> str:
        department_id = str(uuid.uuid4())
        self.departments[department_id] = {"parent": parent, "head": head}
        self.change_department(department_id)
        return department_id

    def change_department(self, department_id: str, *, parent=_KEEP, head=_KEEP) -> None:
        """A DepartmentChanged for ``department_id``: re-headed, or (a leaf) moved under ``parent``."""
        state = self.departments[department_id]
        if parent is not _KEEP:
            state["parent"] = parent
        if head is not _KEEP:
            state["head"] = head
        self.worker.on_department_changed(TeamsEvents.department(
            department_id, path=self.path(department_id), parent=state["parent"], head=state["head"]))

    def user(self, department: str | None = None, *, roles=(), **profile) -> str:
        """A new active user; ``profile``: territories, expertise, capacity."""
        user_id = str(uuid.uuid4())
        self.users[user_id] = {"department": department, "roles": tuple(roles), **profile}
        self.worker.on_user_created(TeamsEvents.user(teams_events.UserCreated, user_id, department=department,
                                                     roles=roles, **profile))
        return user_id

    def update(self, user_id: str, **changes) -> None:
        """A UserUpdated with ``changes`` (department, roles, territories, expertise, capacity)."""
        state = self.users[user_id]
        state.update(changes)
        self.worker.on_user_updated(TeamsEvents.user(teams_events.UserUpdated, user_id, **state))

    def head(self, *, parent: str | None = None) -> tuple[str, str]:
        """A new department and its head: ``(department_id, head_id)``."""
        department_id = self.department(parent=parent)
        head_id = self.user(department_id)
        self.change_department(department_id, head=head_id)
        return department_id, head_id

    def deactivate(self, user_id: str) -> None:
        state = self.users[user_id]
        self.worker.on_user_deactivated(TeamsEvents.user(teams_events.UserDeactivated, user_id, **state,
                                                         active=False))


@pytest.fixture
def org(worker) -> Org:
    return Org(worker)


ALL_SETTINGS = ("claim_cap", "return_reasons", "recycle_after_days_without_follow_up", "recycle_after_days_unconverted",
                "reclaim_bar_days", "dedupe_mode", "scoring_rules", "behaviour_points", "mql_threshold",
                "sql_threshold", "sql_requires", "convert_requires", "customer_grades")


@pytest.fixture
def ops(org, as_user):
    """A sales ops user: ``(user_id, caller)``."""
    return as_user(org.user(roles=("sales_ops",)))


class LeadSettingsFixture:
    """Changes the company's lead settings through the API; the test's teardown puts back what was there."""

    def __init__(self, caller) -> None:
        from shangji.leads.v1 import leads_pb2

        self.pb = leads_pb2
        self.caller = caller
        self.saved = caller.GetLeadSettings(leads_pb2.GetLeadSettingsRequest())

    def set(self, **fields):
        from google.protobuf import field_mask_pb2

        message = self.pb.LeadSettings(**fields)
        return self.caller.UpdateLeadSettings(self.pb.UpdateLeadSettingsRequest(
            settings=message, update_mask=field_mask_pb2.FieldMask(paths=list(fields))))

    def restore(self) -> None:
        from google.protobuf import field_mask_pb2

        self.caller.UpdateLeadSettings(self.pb.UpdateLeadSettingsRequest(
            settings=self.saved, update_mask=field_mask_pb2.FieldMask(paths=list(ALL_SETTINGS))))


@pytest.fixture
def lead_settings(ops):
    fixture = LeadSettingsFixture(ops[1])
    yield fixture
    fixture.restore()
