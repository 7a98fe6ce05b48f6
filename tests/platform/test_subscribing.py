"""What an outside subscriber gets: structured-mode CloudEvents a CloudEvents SDK reads, a plain AMQP
consumer (docs/events/subscriber.py, no project code) that works, a replay stream, and redrive."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import kombu
import pika
import pytest
from cloudevents.core.bindings.amqp import AMQPMessage, from_amqp
from cloudevents.core.formats.json import JSONFormat

from shangji_kit import admin, envelope
from shangji_kit.consumer import ATTEMPT_HEADER, ERROR_HEADER, dead_letter_queue_name, handler_queue_name
from shangji_kit.publisher import EventPublisher
from shangji_kit.redrive import REDRIVEN_ERROR_HEADER

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "events" / "subscriber.py"
EXTERNAL_QUEUE = "ext.test.crm"  # declared by conftest's topology_file


def publish(uri: str, *events: dict) -> None:
    publisher = EventPublisher(uri, "leads")
    try:
        for e in events:
            publisher.publish(e)
    finally:
        publisher.close()


def take_all(uri: str, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    got = []
    conn = pika.BlockingConnection(pika.URLParameters(uri))
    channel = conn.channel()
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        got.append((properties, body))
    conn.close()
    return got


def depth(uri: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(uri))
    n = conn.channel().queue_declare(queue, passive=True).method.message_count
    conn.close()
    return n


def test_a_cloudevents_sdk_reads_a_published_event_in_structured_mode(broker, lead_converted):
    take_all(broker, EXTERNAL_QUEUE)
    sent = lead_converted()
    publish(broker, sent)
    ((properties, body),) = take_all(broker, EXTERNAL_QUEUE)
    assert properties.content_type == "application/cloudevents+json"
    message = AMQPMessage(properties={"content-type": properties.content_type},
                          application_properties=dict(properties.headers or {}), application_data=body)
    event = from_amqp(message, JSONFormat())
    assert event.get_id() == sent["id"] and event.get_type() == "shangji.leads.v1.LeadConverted"
    assert event.get_source() == "/shangji/leads" and event.get_subject() == "leads/l1"
    # the data is the event message alone, not the envelope around it
    assert event.get_data() == sent["data"] and event.get_data()["lead"]["company"] == "华南精密制造"
    assert properties.headers["cloudEvents:type"] == "shangji.leads.v1.LeadConverted"


def test_the_example_subscriber_imports_nothing_of_the_project():
    tree = ast.parse(EXAMPLE.read_text())
    imported = {(n.module if isinstance(n, ast.ImportFrom) else a.name).split(".")[0]
                for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                for a in (n.names if isinstance(n, ast.Import) else [n])}
    assert imported - set(sys.stdlib_module_names) == {"pika"}


def run_example(*args: str) -> list[dict]:
    done = subprocess.run([sys.executable, "-I", str(EXAMPLE), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_example_subscriber_reads_its_queue_once_per_event_and_dead_letters_garbage(broker, lead_converted):
    take_all(broker, EXTERNAL_QUEUE)
    take_all(broker, dead_letter_queue_name(EXTERNAL_QUEUE))
    first, second = lead_converted("甲"), lead_converted("乙")
    publish(broker, first, second, first)  # the relay may send one twice after a crash
    conn = pika.BlockingConnection(pika.URLParameters(broker))
    conn.channel().basic_publish("", EXTERNAL_QUEUE, b"not an event",
                                 pika.BasicProperties(content_type="text/plain"))
    conn.close()
    lines = run_example("--url", broker, "--queue", EXTERNAL_QUEUE, "--max", "4")
    assert [(e["id"], e["data"]["lead"]["company"]) for e in lines] == [(first["id"], "甲"), (second["id"], "乙")]
    assert depth(broker, EXTERNAL_QUEUE) == 0
    ((properties, body),) = take_all(broker, dead_letter_queue_name(EXTERNAL_QUEUE))
    assert body == b"not an event"


def test_a_subscriber_re_reads_events_from_the_replay_stream(broker, lead_converted):
    old, new = lead_converted("旧"), lead_converted("新")
    publish(broker, old, new)
    # an external queue drains; the stream keeps everything, and reading it takes nothing away
    take_all(broker, EXTERNAL_QUEUE)
    for _ in range(2):
        ids = [e["id"] for e in run_example("--url", broker, "--replay-from", "first", "--until-id", new["id"])]
        assert ids.index(old["id"]) < ids.index(new["id"])
    before_all = "2000-01-01T00:00:00Z"
    ids = [e["id"] for e in run_example("--url", broker, "--replay-from", before_all, "--until-id", new["id"])]
    assert {old["id"], new["id"]} <= set(ids)


def redrive(monkeypatch, uri: str, queue: str, *extra: str) -> None:
    monkeypatch.setenv("SHANGJI_AMQP_URI", uri)
    admin.main(["redrive", queue, *extra])


def test_redrive_puts_an_external_subscribers_dead_letters_back(broker, lead_converted, monkeypatch, capsys):
    take_all(broker, EXTERNAL_QUEUE)
    sent = [lead_converted(), lead_converted()]
    publish(broker, *sent)
    conn = pika.BlockingConnection(pika.URLParameters(broker))
    channel = conn.channel()
    for _ in sent:  # the subscriber fails on both and rejects them
        method, _, _ = channel.basic_get(EXTERNAL_QUEUE)
        channel.basic_reject(method.delivery_tag, requeue=False)
    conn.close()
    assert depth(broker, dead_letter_queue_name(EXTERNAL_QUEUE)) == 2
    redrive(monkeypatch, broker, EXTERNAL_QUEUE, "--limit", "1")
    assert "moved 1 messages" in capsys.readouterr().out
    redrive(monkeypatch, broker, EXTERNAL_QUEUE)
    back = take_all(broker, EXTERNAL_QUEUE)
    assert sorted(json.loads(b)["id"] for _, b in back) == sorted(e["id"] for e in sent)
    assert all(p.content_type == envelope.CONTENT_TYPE and "x-death" not in (p.headers or {}) for p, _ in back)
    assert depth(broker, dead_letter_queue_name(EXTERNAL_QUEUE)) == 0


def test_redrive_of_an_internal_consumer_starts_its_retries_afresh(broker, lead_converted, monkeypatch):
    queue = handler_queue_name("leads", "shangji.leads.v1.LeadConverted", "opportunities", "on_lead_converted")
    take_all(broker, queue)
    sent = lead_converted()
    with kombu.Connection(broker) as conn:
        kombu.Producer(conn.default_channel).publish(
            sent, exchange="", routing_key=dead_letter_queue_name(queue), serializer=envelope.SERIALIZER,
            headers={ATTEMPT_HEADER: 3, ERROR_HEADER: "KeyError: 'x'"}, message_id=sent["id"])
    redrive(monkeypatch, broker, queue)
    ((properties, body),) = take_all(broker, queue)
    assert json.loads(body) == sent and properties.message_id == sent["id"]
    assert ATTEMPT_HEADER not in properties.headers and properties.headers[REDRIVEN_ERROR_HEADER] == "KeyError: 'x'"


def test_redrive_of_a_queue_that_does_not_exist_fails_and_creates_nothing(broker, monkeypatch):
    with pytest.raises(Exception, match="NOT_FOUND"):
        redrive(monkeypatch, broker, "evt-no-such-queue")
    conn = pika.BlockingConnection(pika.URLParameters(broker))
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):
        conn.channel().queue_declare("evt-no-such-queue", passive=True)
    conn.close()
