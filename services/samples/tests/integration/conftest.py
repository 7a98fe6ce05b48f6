"""Fixtures of samples' integration tests: its real database, the worker's handlers, the front in-process, an
opportunities front as a subprocess (CreateSampleRequest asks it about the deal with the caller's token), and
an organisation told to the worker as teams would tell it."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from nameko.testing.services import worker_factory

from samples import bootstrap
from samples.entrypoints import cli, grpc_api
from samples.entrypoints.worker import SamplesWorker
from shangji.opportunities.v1 import opportunities_pb2 as opp_pb
from shangji.opportunities.v1 import opportunities_pb2_grpc
from shangji.samples.v1 import samples_pb2 as pb
from shangji.samples.v1 import samples_pb2_grpc
from shangji_kit.publisher import EventPublisher
from shangji_kit.rpc.client import Caller
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing import envelopes
from shangji_kit.testing.org import OrgBuilder, later, teams_event, ts  # noqa: F401 (tests import them here)
from shangji_kit.testing.processes import ServiceProcess, free_port, running_front
from shangji_kit.testing.service_db import ServiceDb

DEFAULT_TIERS = Path(__file__).resolve().parents[2] / "tiers" / "default.yaml"


DB = ServiceDb("samples")
engine, count, outbox_types = DB.engine, DB.count, DB.outbox_types


@pytest.fixture
def worker(shangji_env):
    return worker_factory(SamplesWorker, uow=bootstrap.uow_factory(Settings.for_service("samples")))


@pytest.fixture(scope="module")
def samples_worker(shangji_env, tmp_path_factory):
    """The samples worker as a subprocess, consuming from the session's broker."""
    proc = ServiceProcess("samples", "worker", dict(os.environ), tmp_path_factory.mktemp("samples-worker"))
    proc.launch()
    yield proc
    proc.terminate(timeout=15)


def publish(service: str, *envelopes: dict) -> None:
    """Envelopes onto ``service``'s exchange on the real broker, as its relay publishes them."""
    publisher = EventPublisher(Settings.for_service(service).amqp_uri, service)
    for env in envelopes:
        publisher.publish(env)
    publisher.close()


@pytest.fixture(scope="session")
def opportunities_front(shangji_env, tmp_path_factory):
    """The opportunities front as a subprocess; the in-process samples front dials it."""
    port = free_port()
    env = dict(os.environ, SHANGJI_OPPORTUNITIES_GRPC_PORT=str(port))
    proc = ServiceProcess("opportunities", "front", env, tmp_path_factory.mktemp("opportunities-logs"))
    proc.launch()
    saved = os.environ.get("SHANGJI_OPPORTUNITIES_GRPC_PORT")
    os.environ["SHANGJI_OPPORTUNITIES_GRPC_PORT"] = str(port)
    yield f"127.0.0.1:{port}"
    proc.terminate(timeout=15)
    if saved is None:
        os.environ.pop("SHANGJI_OPPORTUNITIES_GRPC_PORT", None)
    else:
        os.environ["SHANGJI_OPPORTUNITIES_GRPC_PORT"] = saved


@pytest.fixture(scope="module")
def front(shangji_env, opportunities_front):
    with running_front("samples", grpc_api.register) as f:
        yield f


@pytest.fixture(scope="module")
def channels(front, opportunities_front):
    opened = {"samples": grpc.insecure_channel(f"127.0.0.1:{front.bound_port}"),
              "opportunities": grpc.insecure_channel(opportunities_front)}
    yield opened
    for ch in opened.values():
        ch.close()


# --- teams' events ---------------------------------------------------------------------------------

class Org(OrgBuilder):
    """Teams' organisation told to the samples worker, one event per change (the kit's builders)."""


@dataclass
class World:
    """company (head vp) > sales (head director) > team (head manager: rep, peer); sales > other team (head
    other_manager); ops (sales_ops) and a service engineer at the company level. Catalogue: PUMP (100 CNY),
    VALVE (1000 CNY), RETIRED (inactive)."""

    org: Org
    vp: str
    director: str
    manager: str
    other_manager: str
    rep: str
    peer: str
    ops: str
    engineer: str
    company: str
    sales: str
    team: str
    other: str
    samples: object
    opportunities: object

    def sam(self, user_id: str) -> Caller:
        return self.samples(user_id)

    def opp(self, user_id: str) -> Caller:
        return self.opportunities(user_id)

    def deal(self, owner: str | None = None) -> opp_pb.Opportunity:
        """A deal registered by (and visible to) ``owner``; a company of its own, so nothing collides."""
        return self.opp(owner or self.rep).RegisterOpportunity(opp_pb.RegisterOpportunityRequest(
            opportunity=opp_pb.Opportunity(customer_company=f"华东精密机械 {uuid.uuid4().hex[:8]}有限公司",
                                           product_lines=["pumps"])))

    def lost_deal(self, owner: str | None = None) -> opp_pb.Opportunity:
        deal = self.deal(owner)
        return self.opp(owner or self.rep).LoseOpportunity(opp_pb.LoseOpportunityRequest(
            name=deal.name, etag=deal.etag, reason="价格"))

    def create(self, deal: opp_pb.Opportunity | str | None = None, *lines: tuple[str, int], as_user: str | None = None,
               request_id: str = "", **fields) -> pb.SampleRequest:
        name = deal if isinstance(deal, str) else (deal or self.deal(as_user)).name
        body = {"opportunity": name, "kind": pb.SampleRequest.STANDARD, "purpose": "试用", "recipient_name": "王工",
                "recipient_phone": "13800138000", "address": "上海市浦东新区张江路 1 号",
                "lines": [pb.SampleLine(product=p, quantity=q) for p, q in (lines or [("PUMP", 1)])]}
        body.update(fields)
        return self.sam(as_user or self.rep).CreateSampleRequest(pb.CreateSampleRequestRequest(
            sample_request=pb.SampleRequest(**body), request_id=request_id))

    def approve(self, request: pb.SampleRequest, user_id: str, comment: str = "同意") -> pb.SampleRequest:
        return self.sam(user_id).ApproveSampleRequest(pb.ApproveSampleRequestRequest(
            name=request.name, comment=comment, etag=request.etag))

    def get(self, name: str, user_id: str | None = None) -> pb.SampleRequest:
        return self.sam(user_id or self.rep).GetSampleRequest(pb.GetSampleRequestRequest(name=name))


@pytest.fixture
def world(clean_db, worker, channels, token_for) -> World:
    # The policy is seeded, so clean_db keeps it: put the shipped default back for each test.
    assert cli.main(["load-tiers", str(DEFAULT_TIERS)]) == 0
    org = Org(worker)
    ids = {k: str(uuid.uuid4()) for k in ("vp", "director", "manager", "other_manager", "rep", "peer", "ops",
                                          "engineer")}
    company = org.department(head=ids["vp"])
    sales = org.department(parent=company, head=ids["director"])
    team = org.department(parent=sales, head=ids["manager"])
    other = org.department(parent=sales, head=ids["other_manager"])
    org.user(ids["vp"], department=company, roles=("sales_manager",))
    org.user(ids["director"], department=sales, roles=("sales_manager",))
    org.user(ids["manager"], department=team, roles=("sales_manager",))
    org.user(ids["other_manager"], department=other, roles=("sales_manager",))
    org.user(ids["rep"], department=team)
    org.user(ids["peer"], department=team)
    org.user(ids["ops"], department=company, roles=("sales_ops",))
    org.user(ids["engineer"], department=company, roles=("service",))
    samples_stub = samples_pb2_grpc.SamplesServiceStub(channels["samples"])
    opp_stub = opportunities_pb2_grpc.OpportunitiesServiceStub(channels["opportunities"])
    w = World(org=org, company=company, sales=sales, team=team, other=other,
              samples=lambda u: Caller(samples_stub, token_for(u)),
              opportunities=lambda u: Caller(opp_stub, token_for(u)), **ids)
    admin = w.sam(w.ops)
    for code, cost, active in (("PUMP", "100", True), ("VALVE", "1000", True), ("RETIRED", "5", False)):
        admin.CreateProduct(pb.CreateProductRequest(product=pb.Product(
            code=code, display_name=code.title(), unit_cost=cost, currency="CNY", active=active)))
    return w


def violations(exc: grpc.RpcError) -> list[str]:
    return details_of(exc)["fields"]


def reason(exc: grpc.RpcError) -> str | None:
    return details_of(exc)["reason"]


def erp_event(kind: str, source: str, *, event_id: str | None = None, source_kind: str = "sample_request",
              **fields) -> dict:
    """An erp_bridge event envelope as the bridge's relay publishes it."""
    from shangji.erp_bridge.v1 import events_pb2 as erp_events

    now = datetime.now(UTC)
    if kind == "ErpOrderConfirmed":
        message = erp_events.ErpOrderConfirmed(source_kind=source_kind, source=source, reference=source,
                                               erp_state="confirmed", confirm_time=ts(now), **fields)
    else:
        message = erp_events.ErpOrderDeadLettered(source_kind=source_kind, source=source, reference=source,
                                                  dead_letter_time=ts(now), **fields)
    return envelopes.published("erp_bridge", message, subject=source, event_id=event_id, time=now)


@pytest.fixture
def ordered(world, worker):
    """``ordered(lines...)``: a request approved by the manager and confirmed by the ERP as order SO-<n>."""
    def make(*lines, number: str | None = None) -> pb.SampleRequest:
        created = world.create(None, *(lines or [("PUMP", 2)]))
        world.approve(created, world.manager)
        worker.on_erp_order_confirmed(erp_event("ErpOrderConfirmed", created.name,
                                                erp_order_number=number or f"SO-{uuid.uuid4().hex[:6]}"))
        return world.get(created.name)

    return make
