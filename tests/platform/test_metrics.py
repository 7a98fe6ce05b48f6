"""Prometheus metrics, scraped from real processes: a front's calls by method and code, a worker's events
handled, retried and dead-lettered, its outbox backlog and lag, and database pool usage."""

import os
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
from shangji_kit import envelope
from shangji_kit.auth import mint_dev_token
from shangji_kit.consumer import handler_queue_name
from shangji_kit.publisher import EventPublisher
from shangji_kit.testing.processes import ServiceProcess, free_port
from shangji_kit.testing.wait import eventually

REGISTERED = "shangji.opportunities.v1.OpportunityRegistered"


def scrape(port: int, proc: ServiceProcess | None = None) -> dict[tuple[str, frozenset], float]:
    """Every sample on /metrics, keyed by (name, labels). A failed scrape names the process's last log lines: the
    server writes the exception behind a 500 there (once seen under a loaded full run, not reproduced alone)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        tail = proc.log_path.read_text(errors="replace")[-4000:] if proc is not None else ""
        raise AssertionError(f"/metrics answered {exc.code}; the process's log ends:\n{tail}") from exc
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def process(shangji_env, tmp_path):
    started: list[ServiceProcess] = []

    def start(service: str, role: str, **env) -> tuple[ServiceProcess, int]:
        metrics_port = free_port()
        full_env = {**os.environ, "SHANGJI_METRICS_PORT": str(metrics_port), "SHANGJI_METRICS_HOST": "127.0.0.1",
                    **env}
        proc = ServiceProcess(service, role, full_env, tmp_path).start()
        started.append(proc)
        proc.wait_started(timeout=60)
        return proc, metrics_port

    yield start
    for proc in started:
        proc.terminate()


def test_a_front_counts_and_times_calls_by_method_and_code(process):
    port = free_port()
    _, metrics_port = process("teams", "front", SHANGJI_TEAMS_GRPC_PORT=str(port))
    create, get = "/shangji.teams.v1.TeamsService/CreateUser", "/shangji.teams.v1.TeamsService/GetUser"
    token = [("authorization", f"Bearer {mint_dev_token(str(uuid.uuid4()), roles=('admin',))}")]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = teams_pb2_grpc.TeamsServiceStub(channel)
        for _ in range(2):
            stub.CreateUser(teams_pb2.CreateUserRequest(user=teams_pb2.User(
                display_name="度量", email=f"{uuid.uuid4().hex[:8]}@example.com")), metadata=token, timeout=10)
        for metadata, code in ((token, grpc.StatusCode.NOT_FOUND), ((), grpc.StatusCode.UNAUTHENTICATED)):
            with pytest.raises(grpc.RpcError) as failed:
                stub.GetUser(teams_pb2.GetUserRequest(name=f"users/{uuid.uuid4()}"), metadata=metadata, timeout=10)
            assert failed.value.code() == code
    samples = scrape(metrics_port)
    assert value(samples, "shangji_rpc_requests_total", service="teams", method=create, code="OK") == 2
    assert value(samples, "shangji_rpc_requests_total", service="teams", method=get, code="NOT_FOUND") == 1
    assert value(samples, "shangji_rpc_requests_total", service="teams", method=get, code="UNAUTHENTICATED") == 1
    assert value(samples, "shangji_rpc_duration_seconds_count", service="teams", method=create, code="OK") == 2
    assert value(samples, "shangji_rpc_duration_seconds_bucket", service="teams", method=create, code="OK",
                 le="+Inf") == 2
    database = f"{shangji_db_prefix()}teams"
    size = value(samples, "shangji_db_pool_size", database=database)
    assert size >= 1  # the readiness check may hold a connection at the moment of the scrape
    assert 0 <= value(samples, "shangji_db_pool_checked_out", database=database) <= size


def shangji_db_prefix() -> str:
    return os.environ.get("SHANGJI_DB_PREFIX", "")


def test_a_worker_counts_retries_and_dead_letters_and_reports_its_outbox(process, broker):
    # The worker uses the platform tests' own vhost, so no other notify worker of this session competes.
    worker, metrics_port = process("notify", "worker", SHANGJI_AMQP_URI=broker, SHANGJI_CONSUMER_MAX_ATTEMPTS="3")
    queue = handler_queue_name("opportunities", REGISTERED, "notify", "on_opportunity_registered")
    poison = envelope.build(service="opportunities", id=str(uuid.uuid4()), type=REGISTERED,
                            subject="opportunities/poison", time=datetime.now(timezone.utc),
                            dataschema=f"proto:{REGISTERED}", data={"opportunity": {"title": ["not", "a", "string"]}},
                            correlation_id=None)
    publisher = EventPublisher(broker, "opportunities")
    publisher.publish(poison)
    publisher.close()

    def handled(outcome: str) -> float:
        return value(scrape(metrics_port, worker), "shangji_events_handled_total", queue=queue, outcome=outcome) or 0

    eventually(lambda: handled("dead_letter") == 1, timeout=60, what="the poison event dead-lettered")
    assert handled("retry") == 2 and handled("ok") == 0
    samples = scrape(metrics_port, worker)
    assert value(samples, "shangji_outbox_backlog", service="notify") == 0
    assert value(samples, "shangji_outbox_lag_seconds", service="notify") == 0
