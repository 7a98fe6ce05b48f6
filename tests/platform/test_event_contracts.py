"""docs/events/asyncapi.yaml: generated from the protos and the topology, in step with them, valid for the
AsyncAPI parser, and what the relay publishes matches its payload schemas."""

import copy
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from scripts import asyncapi

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "events" / "asyncapi.yaml"


@pytest.fixture(scope="module")
def parser_verdicts(tmp_path_factory) -> dict[str, str]:
    """One run of the AsyncAPI parser (node) over the committed document and a copy with a dangling $ref."""
    broken = tmp_path_factory.mktemp("asyncapi") / "broken.yaml"
    broken.write_text(DOC.read_text().replace("'#/components/schemas/shangji.leads.v1.Lead'",
                                              "'#/components/schemas/shangji.leads.v1.Missing'"))
    done = subprocess.run(["node", str(ROOT / "scripts" / "validate_asyncapi.mjs"), str(DOC), str(broken)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr  # the broken copy fails the run
    return {"committed": "\n".join(line for line in done.stdout.splitlines() if line.startswith(str(DOC))),
            "broken": "\n".join(line for line in done.stdout.splitlines() if line.startswith(str(broken)))}


@pytest.fixture(scope="module")
def doc() -> dict:
    return yaml.safe_load(DOC.read_text())


def test_the_committed_document_is_what_the_protos_and_topology_give():
    assert asyncapi.main(["--check"]) == 0, "run: python -m scripts.asyncapi"


def test_the_asyncapi_parser_finds_the_document_valid(parser_verdicts):
    assert parser_verdicts["committed"].endswith("messages") and ": valid," in parser_verdicts["committed"], \
        parser_verdicts["committed"]


def test_the_parser_refuses_a_document_with_a_dangling_reference(parser_verdicts):
    assert "shangji.leads.v1.Missing" in parser_verdicts["broken"] and ": invalid" in parser_verdicts["broken"]


def test_every_subscribed_event_and_every_exchange_is_in_the_document(doc):
    topo = yaml.safe_load((ROOT / "deploy" / "rabbitmq" / "topology.yaml").read_text())
    messages = doc["components"]["messages"]
    assert {s["event_type"] for s in topo["subscriptions"]} <= set(messages)
    exchanges = {c["bindings"]["amqp"]["exchange"]["name"] for c in doc["channels"].values()
                 if c["bindings"]["amqp"]["is"] == "routingKey"}
    assert exchanges == {f"{p}.events" for p in topo["publishers"] if p != "notify"}  # notify emits nothing
    assert doc["channels"]["replay"]["address"] == topo["replay"]["queue"]
    for name, message in messages.items():
        assert message["contentType"] == "application/cloudevents+json", name


def payload_validator(doc: dict, event_type: str) -> jsonschema.Validator:
    root = copy.deepcopy(doc)
    root["$ref"] = f"#/components/messages/{event_type}/payload"
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def test_an_event_as_the_relay_builds_it_matches_its_payload_schema(doc, lead_converted):
    event = lead_converted()
    validator = payload_validator(doc, "shangji.leads.v1.LeadConverted")
    assert list(validator.iter_errors(event)) == []
    wrong = copy.deepcopy(event)
    wrong["data"]["convertedBy"] = 5
    assert [e.message for e in validator.iter_errors(wrong)] == ["5 is not of type 'string'"]
    wrong = {**event, "type": "shangji.leads.v1.LeadCreated"}
    assert list(validator.iter_errors(wrong)) != []
