"""The teams front in-process against the session's real teams database."""

import uuid

import grpc
import pytest
import sqlalchemy as sa

from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
from shangji_kit.rpc.client import Caller
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing.processes import running_front
from teams.entrypoints import grpc_api


@pytest.fixture(scope="module")
def front(shangji_env):
    with running_front("teams", grpc_api.register) as f:
        yield f


@pytest.fixture
def teams(front, token_for):
    channel = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    yield Caller(teams_pb2_grpc.TeamsServiceStub(channel), token_for(str(uuid.uuid4())))
    channel.close()


def count(table: str) -> int:
    engine = sa.create_engine(Settings.for_service("teams").database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def new_user(**kw) -> teams_pb2.User:
    fields = {"display_name": "Han Meimei", "email": f"{uuid.uuid4().hex[:10]}@example.com", "phone": "13900139000"}
    fields.update(kw)
    return teams_pb2.User(**fields)


def test_create_then_get_and_an_event_in_the_outbox(teams):
    before = count("outbox")
    created = teams.CreateUser(teams_pb2.CreateUserRequest(user=new_user(department="华东销售部")))
    assert created.name == f"users/{created.id}" and created.phone == "+8613900139000"
    assert teams.GetUser(teams_pb2.GetUserRequest(name=created.name)) == created
    assert count("outbox") == before + 1


def test_retry_with_the_same_request_id_returns_the_first_user(teams):
    req = teams_pb2.CreateUserRequest(user=new_user(), request_id=str(uuid.uuid4()))
    first = teams.CreateUser(req)
    before = count("users")
    again = teams.CreateUser(req)
    assert again.id == first.id and count("users") == before


def test_malformed_email_is_invalid_argument_naming_the_field_and_writes_nothing(teams):
    before = (count("users"), count("outbox"))
    with pytest.raises(grpc.RpcError) as exc:
        teams.CreateUser(teams_pb2.CreateUserRequest(user=new_user(email="nobody-at-example")))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc.value)["fields"] == ["user.email"]
    assert (count("users"), count("outbox")) == before


def test_duplicate_email_is_already_exists(teams):
    user = new_user()
    teams.CreateUser(teams_pb2.CreateUserRequest(user=user))
    with pytest.raises(grpc.RpcError) as exc:
        teams.CreateUser(teams_pb2.CreateUserRequest(user=new_user(email=user.email.upper())))
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert details_of(exc.value)["reason"] == "EMAIL_TAKEN"


def test_unknown_user_is_not_found_and_a_bad_name_is_invalid(teams):
    with pytest.raises(grpc.RpcError) as exc:
        teams.GetUser(teams_pb2.GetUserRequest(name=f"users/{uuid.uuid4()}"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as exc:
        teams.GetUser(teams_pb2.GetUserRequest(name="people/1"))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc.value)["fields"] == ["name"]


def test_calls_without_a_valid_token_are_unauthenticated(front, token_for):
    channel = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    stub = teams_pb2_grpc.TeamsServiceStub(channel)
    req = teams_pb2.GetUserRequest(name=f"users/{uuid.uuid4()}")
    for md in ([], [("authorization", "Bearer not-a-jwt")], [("authorization", f"Basic {token_for('x')}")]):
        with pytest.raises(grpc.RpcError) as exc:
            stub.GetUser(req, metadata=md, timeout=5)
        assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
    channel.close()
