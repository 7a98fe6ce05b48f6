"""Fixtures of teams' integration tests: the front in-process against the session's real teams database,
callers with tokens, helpers that read the database, and OpportunityRegistered envelopes."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
from nameko.testing.services import worker_factory

from shangji.opportunities.v1 import events_pb2 as opportunity_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
from shangji_kit.rpc.client import Caller
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing import envelopes
from shangji_kit.testing.processes import running_front
from shangji_kit.testing.service_db import ServiceDb
from teams import bootstrap
from teams.entrypoints import grpc_api
from teams.entrypoints.worker import TeamsWorker


@pytest.fixture(scope="module")
def front(shangji_env):
    with running_front("teams", grpc_api.register) as f:
        yield f


@pytest.fixture
def channel(front):
    ch = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    yield ch
    ch.close()


@pytest.fixture
def as_user(channel, token_for):
    """``as_user(user_id, roles=())``: the teams API called with a token for that subject."""
    return lambda user_id, roles=(): Caller(teams_pb2_grpc.TeamsServiceStub(channel), token_for(user_id, roles))


@pytest.fixture
def admin(as_user):
    """The bootstrap admin: a token whose roles claim holds "admin", for a subject that is no user."""
    return as_user(str(uuid.uuid4()), ["admin"])


@pytest.fixture
def teams(as_user, new_user):
    """An authenticated caller who is nobody in particular: a user with no roles and no department
    (a subject that is no user is refused by every front: tests/test_token_table.py)."""
    return as_user(new_user().id)


# --- the database ----------------------------------------------------------------------------------

DB = ServiceDb("teams")
scalar, rows = DB.scalar, DB.rows


def count(table: str) -> int:
    return scalar(f"SELECT count(*) FROM {table}")


TABLES = ("users", "departments", "placements", "opportunity_owners", "team_members", "team_templates", "outbox")


def state() -> dict:
    """Every table's row count and a digest of the rows that change in place: "nothing changed" is equality."""
    out = {t: count(t) for t in TABLES}
    out["users_digest"] = scalar("SELECT md5(string_agg(id || ':' || version || ':' || active, ',' ORDER BY id)) "
                                 "FROM users")
    out["departments_digest"] = scalar("SELECT md5(string_agg(id || ':' || version || ':' || path, ',' ORDER BY id)) "
                                       "FROM departments")
    out["owners_digest"] = scalar("SELECT md5(string_agg(opportunity_id || ':' || owner_id, ',' "
                                  "ORDER BY opportunity_id)) FROM opportunity_owners")
    return out


class Outbox:
    """Events written since a mark: ``mark = outbox.mark(); ...; outbox.since(mark)`` -> [(type, subject, data)]."""

    @staticmethod
    def mark() -> int:
        return scalar("SELECT coalesce(max(position), 0) FROM outbox")

    @staticmethod
    def since(mark: int) -> list[tuple[str, str, dict]]:
        return [(r.type.removeprefix("shangji.teams.v1."), r.subject, r.data) for r in rows(
            "SELECT type, subject, data FROM outbox WHERE position > :m ORDER BY position", m=mark)]


@pytest.fixture
def outbox(shangji_env):
    return Outbox()


# --- building blocks ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    code: grpc.StatusCode
    reason: str | None
    fields: list[str]
    preconditions: list[tuple[str, str]]


def _fails(call, request) -> Failure:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    details = details_of(exc.value)
    return Failure(exc.value.code(), details["reason"], details["fields"], details["preconditions"])


@pytest.fixture
def fails():
    """``fails(caller.Method, request)``: the call must fail; its code, reason, fields and preconditions."""
    return _fails


class Db:
    scalar = staticmethod(scalar)
    rows = staticmethod(rows)
    count = staticmethod(count)
    state = staticmethod(state)


@pytest.fixture
def db(shangji_env):
    """Reads of the teams database: ``db.count(table)``, ``db.state()``, ``db.scalar(sql)``, ``db.rows(sql)``."""
    return Db()


def _user_message(**kw) -> teams_pb2.User:
    fields = {"display_name": "韩梅梅", "email": f"{uuid.uuid4().hex[:10]}@example.com", "phone": "13900139000"}
    fields.update(kw)
    return teams_pb2.User(**fields)


@pytest.fixture
def user_message():
    """``user_message(**fields)``: a valid User message with a fresh email, fields overridden."""
    return _user_message


@pytest.fixture
def new_user(admin):
    """``new_user(**fields)``: a user created by the admin."""
    return lambda **kw: admin.CreateUser(teams_pb2.CreateUserRequest(user=_user_message(**kw)))


@pytest.fixture
def new_department(admin):
    """``new_department(display_name, parent=None, head=None)``: a department created by the admin."""
    def make(display_name: str = "销售中心", parent: teams_pb2.Department | None = None,
             head: teams_pb2.User | None = None) -> teams_pb2.Department:
        return admin.CreateDepartment(teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
            display_name=display_name, parent=parent.name if parent else "", head=head.name if head else "")))
    return make


def _opportunity_registered(*, owner: str, opportunity_id: str | None = None, event_id: str | None = None) -> dict:
    """An OpportunityRegistered envelope as opportunities' relay publishes it."""
    deal_id = opportunity_id or str(uuid.uuid4())
    now = datetime.now(UTC)
    deal = opportunities_pb2.Opportunity(
        name=f"opportunities/{deal_id}", id=deal_id, title="智能仓储系统二期", customer_company="华东精密机械有限公司",
        owner=f"users/{owner}", registrant=f"users/{owner}", stage="discover", etag="1")
    deal.create_time.FromDatetime(now)
    deal.update_time.FromDatetime(now)
    return envelopes.published("opportunities", opportunity_events.OpportunityRegistered(opportunity=deal),
                               subject=deal.name, event_id=event_id, time=now)


@pytest.fixture
def opportunity_registered():
    """``opportunity_registered(owner=..., opportunity_id=..., event_id=...)``: an envelope dict."""
    return _opportunity_registered


@pytest.fixture
def worker(shangji_env):
    """The nameko worker's handlers, wired to the session's real database."""
    return worker_factory(TeamsWorker, uow=bootstrap.uow_factory(Settings.for_service("teams")))


@pytest.fixture
def new_opportunity(worker):
    """``new_opportunity(owner)``: an opportunity teams has heard of (through its worker's handler); its id."""
    def make(owner: teams_pb2.User) -> str:
        body = _opportunity_registered(owner=owner.id)
        worker.on_opportunity_registered(body)
        return body["data"]["opportunity"]["id"]
    return make
