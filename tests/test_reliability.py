"""No event and no write is lost: crashes, duplicates, broker connection loss, poison messages.

These tests stop and restart the session suite's processes; each restores what it stopped.
"""

import shutil
import subprocess
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit

import kombu
import pytest
import sqlalchemy as sa

from shangji.leads.v1 import leads_pb2
from shangji_kit import envelope
from shangji_kit.consumer import ATTEMPT_HEADER, ERROR_HEADER, dead_letter_queue_name, handler_queue_name
from shangji_kit.publisher import EventPublisher
from shangji_kit.settings import Settings
from shangji_kit.testing.wait import eventually

REGISTERED = "shangji.opportunities.v1.OpportunityRegistered"
NOTIFY_QUEUE = handler_queue_name("opportunities", REGISTERED, "notify", "on_opportunity_registered")


def query(service: str, sql: str, **params):
    engine = sa.create_engine(Settings.for_service(service).database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), params).fetchall()
    engine.dispose()
    return rows


def notifications_about(subject: str) -> int:
    return query("notify", "SELECT count(*) FROM notifications WHERE subject = :s", s=subject)[0][0]


def test_event_committed_while_the_worker_is_down_is_delivered_after_restart(suite, new_rep):
    rep = new_rep()
    lead = rep.new_lead()
    relay_owner = suite.process("leads", "worker")
    relay_owner.kill()  # crash: the conversion below commits, nothing publishes it
    try:
        rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name))
        unsent = query("leads", "SELECT count(*) FROM outbox WHERE subject = :s AND sent_at IS NULL "
                                "AND type = 'shangji.leads.v1.LeadConverted'", s=lead.name)
        assert unsent[0][0] == 1
        time.sleep(1.0)
        assert rep.opportunities_list() == []
    finally:
        relay_owner.launch()
    [opp] = eventually(rep.opportunities_list, what="opportunity after the worker restarted")
    eventually(lambda: notifications_about(opp.name) == 1, what="notification after restart")


def _republish(service: str, row) -> dict:
    id_, type_, subject, dataschema, data, cid, created = row
    env = envelope.build(service=service, id=str(id_), type=type_, subject=subject, time=created,
                         dataschema=dataschema, data=data, correlation_id=cid)
    publisher = EventPublisher(Settings.for_service(service).amqp_uri, service)
    publisher.publish(env)
    publisher.publish(env)
    publisher.close()
    return env


def _queue_drained(name: str) -> bool:
    with kombu.Connection(Settings.for_service("notify").amqp_uri) as conn:
        channel = conn.channel()
        _, ready, _ = channel.queue_declare(queue=name, passive=True)
        channel.close()
    return ready == 0


def test_the_same_event_delivered_twice_makes_one_notification(suite, new_rep):
    rep = new_rep()
    rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=rep.new_lead().name))
    [opp] = eventually(rep.opportunities_list, what="opportunity")
    eventually(lambda: notifications_about(opp.name) == 1, what="first notification")
    [row] = query("opportunities", "SELECT id, type, subject, dataschema, data, correlation_id, created_at "
                                   "FROM outbox WHERE subject = :s", s=opp.name)
    _republish("opportunities", row)  # two more deliveries of an event already handled
    eventually(lambda: _queue_drained(NOTIFY_QUEUE), what="redeliveries consumed")
    time.sleep(0.5)  # a handler that took them would have committed by now
    assert notifications_about(opp.name) == 1
    assert len(rep.inbox()) == 1


def _vhost(uri: str) -> str:
    path = urlsplit(uri).path.lstrip("/")
    return path or "/"


def test_broker_connections_closed_mid_flow_lose_nothing(suite, new_rep):
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        pytest.fail("rabbitmqctl is needed to close broker connections (install RabbitMQ's CLI tools)")
    rep = new_rep()
    leads = [rep.new_lead() for _ in range(30)]
    vhost = _vhost(Settings.for_service("leads").amqp_uri)

    def convert_all():
        for lead in leads:
            rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name))
            time.sleep(0.02)

    converter = threading.Thread(target=convert_all)
    converter.start()
    for _ in range(3):
        time.sleep(0.25)
        subprocess.run([ctl, "close_all_connections", "--vhost", vhost, "reliability test"], check=True,
                       capture_output=True)
    converter.join(60)
    eventually(lambda: len(rep.opportunities_list()) == 30, timeout=60, what="30 opportunities")
    eventually(lambda: len(rep.inbox()) == 30, timeout=60, what="30 notifications")
    subjects = [n.subject for n in rep.inbox()]
    assert len(set(subjects)) == 30


def _dead_letters(event_id: str) -> list:
    found = []
    with kombu.Connection(Settings.for_service("notify").amqp_uri) as conn:
        queue = kombu.Queue(dead_letter_queue_name(NOTIFY_QUEUE), no_declare=True)(conn.channel())
        while (msg := queue.get(no_ack=False)) is not None:
            if msg.properties.get("message_id") == event_id or msg.decode().get("id") == event_id:
                found.append(msg)
                msg.ack()
            else:
                msg.requeue()
                break
    return found


def test_a_poison_message_is_dead_lettered_while_the_queue_keeps_flowing(suite, new_rep):
    poison = envelope.build(service="opportunities", id=str(uuid.uuid4()), type=REGISTERED,
                            subject="opportunities/poison", time=datetime.now(timezone.utc),
                            dataschema=f"proto:{REGISTERED}", data={"opportunity": {"title": ["not", "a", "string"]}},
                            correlation_id=None)
    publisher = EventPublisher(Settings.for_service("opportunities").amqp_uri, "opportunities")
    publisher.publish(poison)
    publisher.close()

    rep = new_rep()  # meanwhile, real work goes through the same queue
    for _ in range(3):
        rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=rep.new_lead().name))
    eventually(lambda: len(rep.inbox()) == 3, what="three good notifications despite the poison")

    [dead] = eventually(lambda: _dead_letters(poison["id"]), timeout=20, what="poison in the dead-letter queue")
    assert int(dead.headers[ATTEMPT_HEADER]) == 3  # SHANGJI_CONSUMER_MAX_ATTEMPTS in tests
    assert "ParseError" in dead.headers[ERROR_HEADER] or "invalid" in dead.headers[ERROR_HEADER].lower()
    assert query("notify", "SELECT count(*) FROM inbox WHERE event_id = :i", i=poison["id"])[0][0] == 0
