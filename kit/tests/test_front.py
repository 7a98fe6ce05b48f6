"""The front's health: readiness follows the database, liveness does not; drain on stop."""

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shangji_kit.rpc.server import LIVENESS, Front
from shangji_kit.settings import Settings
from shangji_kit.testing.processes import free_port
from shangji_kit.testing.wait import eventually


@pytest.fixture
def database_up(monkeypatch):
    monkeypatch.setenv("SHANGJI_HEALTH_INTERVAL_SECONDS", "0.05")
    state = {"up": True}
    yield state


def check(port: int, service: str = "") -> str:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)


def test_readiness_follows_the_database_and_liveness_does_not(database_up):
    front = Front(Settings.for_service("samples"), lambda server: [], port=free_port(),
                  readiness=lambda: database_up["up"]).start()
    try:
        assert check(front.bound_port) == "SERVING"
        database_up["up"] = False
        eventually(lambda: check(front.bound_port) == "NOT_SERVING", timeout=5, what="NOT_SERVING")
        assert check(front.bound_port, LIVENESS) == "SERVING"
        database_up["up"] = True
        eventually(lambda: check(front.bound_port) == "SERVING", timeout=5, what="SERVING again")
    finally:
        front.stop(0)


def test_real_readiness_checks_the_service_database(shangji_env, monkeypatch):
    monkeypatch.setenv("SHANGJI_SAMPLES_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    front = Front(Settings.for_service("samples"), lambda server: [], port=free_port()).start()
    try:
        assert check(front.bound_port) == "NOT_SERVING"
        assert check(front.bound_port, LIVENESS) == "SERVING"
    finally:
        front.stop(0)


def test_the_correlation_id_comes_back_on_success_and_on_error(shangji_env):
    import uuid

    from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
    from shangji_kit.auth import mint_dev_token
    from shangji_kit.testing.processes import running_front
    from teams.entrypoints import grpc_api

    with running_front("teams", grpc_api.register) as front, \
            grpc.insecure_channel(f"127.0.0.1:{front.bound_port}") as channel:
        stub = teams_pb2_grpc.TeamsServiceStub(channel)
        md = [("authorization", f"Bearer {mint_dev_token(str(uuid.uuid4()), roles=('admin',))}"),
              ("x-correlation-id", "trace-123")]
        _, call = stub.CreateUser.with_call(teams_pb2.CreateUserRequest(user=teams_pb2.User(
            display_name="关联", email=f"{uuid.uuid4().hex[:8]}@example.com")), metadata=md, timeout=5)
        assert ("x-correlation-id", "trace-123") in tuple(call.trailing_metadata())
        with pytest.raises(grpc.RpcError) as exc:
            stub.GetUser(teams_pb2.GetUserRequest(name=f"users/{uuid.uuid4()}"), metadata=md, timeout=5)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
        assert ("x-correlation-id", "trace-123") in tuple(exc.value.trailing_metadata())


def test_a_database_that_cannot_be_reached_answers_unavailable_not_internal(shangji_env, monkeypatch):
    import uuid

    from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
    from shangji_kit.auth import mint_dev_token
    from shangji_kit.rpc.status import details_of
    from shangji_kit.testing.processes import running_front
    from teams.entrypoints import grpc_api

    # Nothing listens there: the same answer a client gets while PostgreSQL restarts or is at max_connections.
    monkeypatch.setenv("SHANGJI_TEAMS_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/teams")
    with running_front("teams", grpc_api.register) as front, \
            grpc.insecure_channel(f"127.0.0.1:{front.bound_port}") as channel:
        md = [("authorization", f"Bearer {mint_dev_token(str(uuid.uuid4()), roles=('admin',))}")]
        with pytest.raises(grpc.RpcError) as exc:
            teams_pb2_grpc.TeamsServiceStub(channel).GetUser(
                teams_pb2.GetUserRequest(name=f"users/{uuid.uuid4()}"), metadata=md, timeout=10)
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "DATABASE_UNREACHABLE" in str(details_of(exc.value))


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def test_several_front_processes_share_one_port_and_drain_together(shangji_env, tmp_path):
    import os
    import signal

    from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
    from shangji_kit.auth import mint_dev_token
    from shangji_kit.rpc.client import Caller
    from shangji_kit.testing.processes import ServiceProcess

    port = free_port()
    env = {**os.environ, "SHANGJI_GRPC_PROCESSES": "2", "SHANGJI_TEAMS_GRPC_PORT": str(port)}
    front = ServiceProcess("teams", "front", env, tmp_path).start()
    try:
        front.wait_started()
        children = _children(front.proc.pid)
        assert len(children) == 2
        # Each channel is one connection; the kernel spreads them over both processes. Every call is answered.
        token = mint_dev_token("00000000-0000-0000-0000-00000000d0d0", roles=("admin",))
        for _ in range(8):
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                caller = Caller(teams_pb2_grpc.TeamsServiceStub(channel), token)
                assert caller.ListUsers(teams_pb2.ListUsersRequest(page_size=1)) is not None
        assert front.terminate(30) == 0
        assert all(not os.path.exists(f"/proc/{c}") or open(f"/proc/{c}/stat").read().split()[2] == "Z"
                   for c in children)
    finally:
        front.kill()

    # A copy that dies takes the front down with a failing exit code, so the orchestrator restarts it.
    front = ServiceProcess("teams", "front", env, tmp_path).start()
    try:
        front.wait_started()
        os.kill(_children(front.proc.pid)[0], signal.SIGKILL)
        assert front.proc.wait(30) != 0
    finally:
        front.kill()


def test_a_method_the_servicer_does_not_serve_answers_unimplemented_not_internal(shangji_env):
    import uuid

    from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
    from shangji_kit.auth import mint_dev_token
    from shangji_kit.rpc.status import details_of

    def register(server):
        # The generated base class alone: every method raises NotImplementedError.
        teams_pb2_grpc.add_TeamsServiceServicer_to_server(teams_pb2_grpc.TeamsServiceServicer(), server)
        return []

    front = Front(Settings.for_service("teams"), register, port=free_port(), readiness=lambda: True).start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{front.bound_port}") as channel:
            md = [("authorization", f"Bearer {mint_dev_token(str(uuid.uuid4()), roles=('admin',))}")]
            with pytest.raises(grpc.RpcError) as exc:
                teams_pb2_grpc.TeamsServiceStub(channel).GetUser(
                    teams_pb2.GetUserRequest(name=f"users/{uuid.uuid4()}"), metadata=md, timeout=5)
    finally:
        front.stop(0)
    assert exc.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert details_of(exc.value)["reason"] == "UNIMPLEMENTED"
    assert "GetUser" in exc.value.details()
