"""Fixtures of erp_bridge's integration tests: the session's real database and a real trytond (the kit's
``tryton`` fixture), the worker's handlers in-process, worker subprocesses, events as their producers
publish them, and reading what the ERP holds."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from nameko.testing.services import worker_factory

from erp_bridge import bootstrap
from erp_bridge.adapters.tryton import TrytonErp
from erp_bridge.domain.model import RetryPolicy
from erp_bridge.entrypoints import grpc_api
from erp_bridge.entrypoints.worker import ErpBridgeWorker
from shangji.erp_bridge.v1 import erp_bridge_pb2_grpc
from shangji.opportunities.v1 import events_pb2 as opportunity_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji.samples.v1 import events_pb2 as sample_events
from shangji.samples.v1 import samples_pb2
from shangji_kit.publisher import EventPublisher
from shangji_kit.rpc.client import Caller
from shangji_kit.settings import Settings
from shangji_kit.testing import envelopes, org
from shangji_kit.testing.processes import ServiceProcess, running_front
from shangji_kit.testing.service_db import ServiceDb

# The ERP products the kit's Tryton template holds, and our codes for them.
OUR_PRODUCTS = {"SMP-A": "TRY-SAMPLE-A", "SMP-B": "TRY-SAMPLE-B", "GEAR-100": "TRY-GEARBOX-100"}


DB = ServiceDb("erp_bridge")


@pytest.fixture
def db(clean_db):
    """``db.scalar(sql)``, ``db.rows(sql)``, ``db.execute(sql)`` on the erp_bridge database (emptied first)."""
    return DB


@pytest.fixture
def mapped(db):
    """Our product codes mapped to the template's ERP products."""
    for ours, theirs in OUR_PRODUCTS.items():
        db.execute("INSERT INTO product_mappings (product, erp_product_code, update_time) VALUES (:p, :e, now())",
                   p=ours, e=theirs)
    return OUR_PRODUCTS


@pytest.fixture(scope="session")
def erp(tryton) -> TrytonErp:
    return TrytonErp(tryton.url, tryton.database, tryton.user, tryton.password, timeout=10)


class ErpView:
    """What the ERP holds, read over JSON-RPC as an ERP user would look."""

    def __init__(self, erp: TrytonErp) -> None:
        self.erp = erp

    def sales(self, reference: str) -> list[dict]:
        return self.erp.call("model.sale.sale.search_read", [("reference", "=", reference)], 0, None, None,
                             ["id", "number", "state", "reference", "party", "currency", "total_amount"])

    def lines(self, sale_id: int) -> list[dict]:
        lines = self.erp.call("model.sale.line.search_read", [("sale", "=", sale_id)], 0, None, [["id", "ASC"]],
                              ["product", "quantity", "unit_price", "analytic_accounts"])
        for line in lines:
            line["product_code"] = self.erp.call("model.product.product.read", [line["product"]], ["code"])[0]["code"]
            entries = self.erp.call("model.analytic.account.entry.read", line["analytic_accounts"], ["account"])
            accounts = [e["account"] for e in entries if e["account"]]
            line["cost_centres"] = [a["code"] for a in self.erp.call(
                "model.analytic_account.account.read", accounts, ["code"])]
        return lines

    def party(self, party_id: int) -> dict:
        return self.erp.call("model.party.party.read", [party_id], ["code", "name"])[0]

    def currency(self, currency_id: int) -> str:
        return self.erp.call("model.currency.currency.read", [currency_id], ["code"])[0]["code"]


@pytest.fixture(scope="session")
def erp_view(erp) -> ErpView:
    return ErpView(erp)


@pytest.fixture
def policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=3, base_seconds=0.05, max_seconds=0.2)


@pytest.fixture
def worker(shangji_env, tryton, erp, policy):
    """The nameko worker's handlers in this process, on the session's database and trytond."""
    return worker_factory(ErpBridgeWorker, uow=bootstrap.uow_factory(Settings.for_service("erp_bridge")),
                          erp=SimpleNamespace(erp=erp, policy=policy, after_create=None))


@pytest.fixture
def uow_factory(shangji_env):
    return bootstrap.uow_factory(Settings.for_service("erp_bridge"))


# --- events ---------------------------------------------------------------------------------------------

def _ts() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return ts


event = envelopes.published


def sample_approved(*, request_id: str | None = None, lines=(("SMP-A", 3), ("SMP-B", 1)),
                    department: str | None = None, customer: str | None = "new", company: str = "华东精密机械有限公司",
                    event_id: str | None = None) -> dict:
    """SampleRequestApproved as the samples relay publishes it."""
    request_id = request_id or str(uuid.uuid4())
    department = department or str(uuid.uuid4())
    if customer == "new":
        customer = f"customers/{uuid.uuid4()}"
    request = samples_pb2.SampleRequest(
        name=f"sampleRequests/{request_id}", id=request_id, opportunity=f"opportunities/{uuid.uuid4()}",
        customer_company=company, customer=customer or "", requester=f"users/{uuid.uuid4()}",
        cost_centre=f"departments/{department}", kind=samples_pb2.SampleRequest.STANDARD, purpose="试用评估",
        recipient_name="王工", recipient_phone="+8613800138000", address="上海市浦东新区张江路 100 号",
        lines=[samples_pb2.SampleLine(product=p, quantity=q, unit_cost="10.00") for p, q in lines],
        state=samples_pb2.SampleRequest.APPROVED)
    message = sample_events.SampleRequestApproved(request=request, approver=f"users/{uuid.uuid4()}",
                                                  approve_time=_ts())
    return event("samples", message, subject=request.name, event_id=event_id)


def opportunity_won(*, deal_id: str | None = None, lines=(("GEAR-100", "2", "4800.00"),), currency: str = "CNY",
                    customer: str = "", company: str = "苏州齿轮有限公司") -> dict:
    deal_id = deal_id or str(uuid.uuid4())
    deal = opportunities_pb2.Opportunity(
        name=f"opportunities/{deal_id}", id=deal_id, title="齿轮箱项目", customer_company=company, customer=customer,
        contact_name="李经理", currency=currency, stage_category="won",
        quote_lines=[opportunities_pb2.QuoteLine(product=p, quantity=q, unit_price=u) for p, q, u in lines])
    message = opportunity_events.OpportunityWon(opportunity=deal, from_stage="negotiate",
                                                actor=f"users/{uuid.uuid4()}", change_time=_ts())
    return event("opportunities", message, subject=deal.name)


def user_created(user_id: str, roles=("sales_ops",), active: bool = True) -> dict:
    return org.user_event(user_id, roles=roles, active=active)


@pytest.fixture
def publish(shangji_env):
    """``publish(service, envelope)``: a real event on the session's broker, confirmed."""
    publishers: dict[str, EventPublisher] = {}

    def send(service: str, body: dict) -> None:
        if service not in publishers:
            publishers[service] = EventPublisher(shangji_env["amqp"], service)
        publishers[service].publish(body)

    yield send
    for p in publishers.values():
        p.close()


# --- worker subprocesses --------------------------------------------------------------------------------

@pytest.fixture
def spawn_worker(shangji_env, tryton, tmp_path):
    """``spawn_worker(**env)``: an erp_bridge worker process against the session's database, broker and
    trytond, with short retry settings; stopped at the end of the test."""
    started: list[ServiceProcess] = []

    def spawn(**extra: str) -> ServiceProcess:
        env = dict(os.environ, **tryton.environment(), SHANGJI_ERP_SCAN_SECONDS="0.2",
                   SHANGJI_ERP_RETRY_BASE_SECONDS="0.2", SHANGJI_ERP_RETRY_MAX_SECONDS="1",
                   SHANGJI_ERP_MAX_ATTEMPTS="200", SHANGJI_ERP_TIMEOUT_SECONDS="10")
        env.update(extra)
        log_dir = Path(tmp_path) / f"worker-{len(started)}"
        log_dir.mkdir()
        process = ServiceProcess("erp_bridge", "worker", env, log_dir)
        process.start()
        started.append(process)
        return process

    yield spawn
    for process in started:
        try:
            process.terminate(timeout=15)
        except Exception:  # keep stopping the others
            process.kill()


# --- the API --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def front(shangji_env):
    with running_front("erp_bridge", grpc_api.register) as f:
        yield f


@pytest.fixture
def as_user(front, token_for):
    channel = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    yield lambda user_id: Caller(erp_bridge_pb2_grpc.ErpBridgeServiceStub(channel), token_for(user_id))
    channel.close()


@pytest.fixture
def operator(db, worker) -> str:
    """A sales ops user, as teams told the bridge about them."""
    user_id = str(uuid.uuid4())
    worker.on_user_created(user_created(user_id))
    return user_id


@pytest.fixture
def events():
    """Builders of the events the bridge consumes: ``sample_approved``, ``opportunity_won``, ``user_created``."""
    return SimpleNamespace(sample_approved=sample_approved, opportunity_won=opportunity_won, user_created=user_created)


@pytest.fixture
def cli(shangji_env, tryton):
    """``cli(*args)``: ``python -m erp_bridge.entrypoints.cli`` against the session's database and trytond."""
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "erp_bridge.entrypoints.cli", *args], capture_output=True,
                              text=True, timeout=120, env=dict(os.environ, **tryton.environment()))

    return run
