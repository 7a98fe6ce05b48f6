"""The notify worker as it runs in production (a nameko subprocess): an event published to the broker becomes
an in-app notice and, through the worker's own webhook loop, a signed delivery to the user's robot."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from notify.domain import channels
from notify.domain.preferences import Preferences, Robot, Rule
from notify.service_layer import preferences
from shangji_kit.publisher import EventPublisher
from shangji_kit.testing.processes import ServiceProcess


@pytest.fixture
def notify_worker(shangji_env, tmp_path):
    worker = ServiceProcess("notify", "worker", dict(os.environ, SHANGJI_NOTIFY_POLL_SECONDS="0.2"), tmp_path).start()
    try:
        worker.wait_started(90)
        yield worker
    finally:
        worker.terminate(30)


def test_a_published_event_is_delivered_by_the_workers_own_channel_loop(notify_worker, robots, uow_factory, rules,
                                                                          clock, opportunity_registered, scalar):
    me = str(uuid.uuid4())
    p = Preferences(me, robots=(Robot(channels.WEBHOOK, robots.webhook("wp", "SEC"), "SEC"),),
                    rules=(Rule("opportunity_registered", (channels.WEBHOOK,)),))
    preferences.update_preferences(me, me, p, {"robots", "rules"}, "", {}, uow_factory(), rules, clock())
    body = opportunity_registered(owner=me)
    publisher = EventPublisher(os.environ["SHANGJI_AMQP_URI"], "opportunities")
    publisher.publish(body)
    publisher.close()
    deadline = time.monotonic() + 60
    while not robots.messages("webhook:wp") and time.monotonic() < deadline:
        time.sleep(0.1)
    [message] = robots.messages("webhook:wp")
    assert message["title"] == "新商机已登记：智能仓储系统二期" and robots.refused == []
    assert scalar("SELECT count(*) FROM notifications WHERE recipient_id = :r", r=me) == 1
    while scalar("SELECT state FROM deliveries WHERE recipient = :r", r=f"users/{me}") != "SENT" \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert scalar("SELECT count(*) FROM deliveries WHERE recipient = :r AND state = 'SENT'", r=f"users/{me}") == 1
