"""Traces: a front exports its server and SQL spans by OTLP when configured, continuing the caller's
trace; an event handler continues the trace its CloudEvent carries; nothing is set up when unconfigured."""

import os
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
from shangji_kit import envelope, tracing
from shangji_kit.auth import mint_dev_token
from shangji_kit.consumer import event_context
from shangji_kit.testing.processes import ServiceProcess, free_port
from shangji_kit.testing.wait import eventually

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class Collector(ThreadingHTTPServer):
    """A stand-in OTLP/HTTP receiver on localhost: keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                    for scope in resource_spans.scope_spans:
                        collector.spans += [(attrs.get("service.name"), s) for s in scope.spans]
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def collector():
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_a_front_exports_its_call_and_sql_spans_in_the_callers_trace(shangji_env, tmp_path, collector):
    port = free_port()
    env = {**os.environ, "SHANGJI_TEAMS_GRPC_PORT": str(port),
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
           "OTEL_BSP_SCHEDULE_DELAY": "100"}
    front = ServiceProcess("teams", "front", env, tmp_path).start()
    try:
        front.wait_started(timeout=60)
        token = mint_dev_token(str(uuid.uuid4()), roles=("admin",))
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            teams_pb2_grpc.TeamsServiceStub(channel).CreateUser(
                teams_pb2.CreateUserRequest(user=teams_pb2.User(display_name="追踪",
                                                                email=f"{uuid.uuid4().hex[:8]}@example.com")),
                metadata=[("authorization", f"Bearer {token}"), ("traceparent", PARENT)], timeout=10)

        def call_span():
            found = [s for _, s in collector.spans if s.name == "shangji.teams.v1.TeamsService/CreateUser"]
            return found[0] if found else None

        eventually(lambda: call_span() is not None, timeout=30, what="the call's span exported")
        span = call_span()
        assert span.trace_id.hex() == TRACE_ID and span.parent_span_id.hex() == "00f067aa0ba902b7"
        assert span.kind == span.SPAN_KIND_SERVER
        eventually(lambda: any(s.parent_span_id == span.span_id for _, s in collector.spans), timeout=30,
                   what="SQL spans under the call")
        children = [s for _, s in collector.spans if s.parent_span_id == span.span_id]
        assert any("INSERT" in s.name or "INSERT" in str(s.attributes) for s in children), [c.name for c in children]
        assert {name for name, _ in collector.spans} == {"shangji-teams-front"}
    finally:
        front.terminate()


def test_an_event_handler_continues_the_trace_its_cloudevent_carries():
    env = envelope.build(service="leads", id=str(uuid.uuid4()), type="shangji.leads.v1.LeadCreated",
                         subject="leads/x", time=datetime.now(timezone.utc), dataschema="proto:x", data={},
                         correlation_id=None, traceparent=PARENT)
    assert env["traceparent"] == PARENT
    with event_context(env):
        assert format(trace.get_current_span().get_span_context().trace_id, "032x") == TRACE_ID
    with event_context({**env, "traceparent": None}):
        assert format(trace.get_current_span().get_span_context().trace_id, "032x") != TRACE_ID


def test_nothing_is_set_up_without_an_otlp_endpoint(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.configure("shangji-test") is False
    assert tracing.traceparent() is None
