"""CloudEvents envelopes and the retry schedule (no I/O)."""

from datetime import datetime, timezone

import pytest
from google.protobuf import json_format

from shangji.leads.v1 import events_pb2, leads_pb2
from shangji_kit import envelope
from shangji_kit.consumer import MAX_RETRY_DELAY_MS, handler_queue_name, retry_delay_ms
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument


def converted() -> dict:
    msg = events_pb2.LeadConverted(lead=leads_pb2.Lead(id="l1", company="ACME"), converted_by="users/u1")
    return envelope.build(service="leads", id="e1", type="shangji.leads.v1.LeadConverted", subject="leads/l1",
                          time=datetime(2026, 11, 25, tzinfo=timezone.utc), dataschema="proto:x",
                          data=json_format.MessageToDict(msg), correlation_id="c1")


def test_envelope_is_cloudevents_and_round_trips_the_proto():
    env = converted()
    assert env["specversion"] == "1.0" and env["source"] == "/shangji/leads" and env["time"].endswith("Z")
    parsed = Envelope.parse(env)
    assert parsed.correlation_id == "c1"
    msg = parsed.payload(events_pb2.LeadConverted)
    assert (msg.lead.company, msg.converted_by) == ("ACME", "users/u1")
    assert envelope.amqp_headers(env)["cloudEvents:type"] == "shangji.leads.v1.LeadConverted"


def test_unknown_fields_from_a_newer_producer_are_ignored():
    env = converted()
    env["data"]["addedLater"] = 1
    assert Envelope.parse(env).payload(events_pb2.LeadConverted).lead.id == "l1"


@pytest.mark.parametrize("body", ["text", {"id": "x"}, {**converted(), "type": ""}])
def test_malformed_envelopes_are_refused(body):
    with pytest.raises(InvalidArgument):
        Envelope.parse(body)


def test_payload_of_the_wrong_type_is_refused():
    with pytest.raises(InvalidArgument):
        Envelope.parse(converted()).payload(events_pb2.LeadCreated)


def test_retry_delays_grow_with_jitter_and_are_capped():
    first = [retry_delay_ms(1, 200) for _ in range(200)]
    fourth = [retry_delay_ms(4, 200) for _ in range(200)]
    assert all(d == 200 for d in first)
    assert all(200 <= d <= 1600 for d in fourth) and len(set(fourth)) > 50
    assert max(retry_delay_ms(30, 200) for _ in range(50)) <= MAX_RETRY_DELAY_MS


def test_queue_names_match_nameko():
    assert handler_queue_name("leads", "t", "opportunities", "on_x") == "evt-leads-t--opportunities.on_x"


def test_the_test_builder_publishes_what_a_relay_would():
    from shangji_kit.testing import envelopes

    msg = events_pb2.LeadConverted(lead=leads_pb2.Lead(id="l1", company="ACME"), converted_by="users/u1")
    when = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
    env = envelopes.parsed("leads", msg, subject="leads/l1", event_id="e1", time=when)
    assert (env.id, env.type, env.subject, env.time) == ("e1", "shangji.leads.v1.LeadConverted", "leads/l1",
                                                         "2026-11-25T09:30:00Z")
    assert envelopes.published("leads", msg)["dataschema"] == "proto:shangji.leads.v1.LeadConverted"
    assert env.payload(events_pb2.LeadConverted).lead.company == "ACME"
    assert envelopes.published("leads", msg)["id"] != envelopes.published("leads", msg)["id"]
