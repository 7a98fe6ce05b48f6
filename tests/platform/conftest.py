"""Fixtures of the platform tests: a RabbitMQ virtual host of their own, with the suite's topology and
an external subscriber's queue declared from a topology file, as `admin topology` declares them."""

import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format

from shangji.leads.v1 import events_pb2, leads_pb2
from shangji_kit import envelope, subscribers, topology
from shangji_kit.testing import servers

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL_QUEUE = "ext.test.crm"
EXTERNAL_TYPES = ("shangji.leads.v1.LeadConverted", "shangji.opportunities.v1.OpportunityWon")


@pytest.fixture(scope="session")
def topology_file(tmp_path_factory) -> Path:
    """The repository's topology file plus one external subscriber, the way an operator adds one."""
    doc = yaml.safe_load((ROOT / "deploy" / "rabbitmq" / "topology.yaml").read_text())
    doc["external"] = [{"queue": EXTERNAL_QUEUE, "delivery_limit": 3, "bindings": [
        {"source": t.split(".")[1], "event_type": t} for t in EXTERNAL_TYPES]}]
    path = tmp_path_factory.mktemp("topology") / "topology.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="session")
def broker(topology_file) -> str:
    """AMQP URI of a fresh virtual host with the whole topology declared."""
    try:
        uri = servers.find_rabbitmq(f"platform_{uuid.uuid4().hex[:8]}")
    except servers.ServerMissing as exc:
        pytest.fail(str(exc))
    topology.apply(topology.load(topology_file), uri)
    subscribers.apply(subscribers.load(topology_file), uri)
    yield uri
    servers.drop_vhost(uri)


@pytest.fixture(scope="session")
def external_queue() -> str:
    return EXTERNAL_QUEUE


@pytest.fixture(scope="session")
def lead_converted():
    """``lead_converted(company)``: a LeadConverted envelope exactly as leads' relay builds it from an outbox row."""
    return make_lead_converted


def make_lead_converted(company: str = "华南精密制造") -> dict:
    message = events_pb2.LeadConverted(lead=leads_pb2.Lead(id=uuid.uuid4().hex, company=company),
                                       converted_by="users/u1", opportunity_title="Line 3 retrofit")
    return envelope.build(service="leads", id=str(uuid.uuid4()), type="shangji.leads.v1.LeadConverted",
                          subject="leads/l1", time=datetime.now(timezone.utc),
                          dataschema="proto:shangji.leads.v1.LeadConverted",
                          data=json_format.MessageToDict(message), correlation_id="req-1")
