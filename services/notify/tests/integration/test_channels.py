"""Each channel against a local server that checks format and signature like the real one, through the
worker's handler (the delivery row) and the delivery workflow on the session's real notify database."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from notify import bootstrap
from notify.adapters.channels.email import SmtpSender
from notify.domain import channels
from notify.domain.preferences import Preferences, Robot, Rule
from notify.entrypoints import runners
from notify.service_layer import delivery, preferences


@pytest.fixture
def prefer(uow_factory, rules, clock):
    """``prefer(user, channel, robot=None, email="")``: the user's OpportunityRegistered notices go to channel."""
    def set_(user: str, channel: str, robot: Robot | None = None, email: str = "") -> None:
        p = Preferences(user, email=email, robots=(robot,) if robot else (),
                        rules=(Rule("opportunity_registered", (channel,)),))
        preferences.update_preferences(user, user, p, {"email", "robots", "rules"}, "", {}, uow_factory(), rules,
                                       clock())

    return set_


@pytest.fixture
def registered(worker, opportunity_registered):
    """``registered(owner)``: the worker handles an OpportunityRegistered for that owner."""
    return lambda owner: worker.on_opportunity_registered(opportunity_registered(owner=owner))


@pytest.fixture
def deliver(uow_factory, rules, clock):
    """``deliver(channel, sender=None)``: one delivery round of that channel at the test clock's time."""
    senders = bootstrap.senders()

    def run(channel: str, sender=None, **rule_changes) -> int:
        return delivery.deliver_due(channel, sender or senders[channel], uow_factory(), replace(rules, **rule_changes),
                                    clock)

    return run


def states(scalar, user: str) -> list[tuple]:
    rows = scalar("SELECT coalesce(json_agg(json_build_array(channel, state, attempts, last_error)"
                  " ORDER BY create_time), '[]') FROM deliveries WHERE recipient = :r", r=f"users/{user}")
    return [tuple(r) for r in rows]


def test_wecom_gets_markdown_once_even_when_the_event_comes_again(prefer, registered, deliver, robots, scalar, clock,
                                                                   worker, opportunity_registered):
    me = str(uuid.uuid4())
    prefer(me, channels.WECOM, Robot(channels.WECOM, robots.wecom("k1")))
    body = opportunity_registered(owner=me)
    worker.on_opportunity_registered(body)
    worker.on_opportunity_registered(body)
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    assert deliver(channels.WECOM) == 1
    assert deliver(channels.WECOM) == 0
    [message] = robots.messages("wecom:k1")
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["content"].startswith("**新商机已登记：智能仓储系统二期**")
    assert states(scalar, me) == [("WECOM", "SENT", 1, "")]


def test_dingtalk_is_signed_and_carries_a_keyword_the_robot_requires(prefer, registered, deliver, robots, clock):
    me = str(uuid.uuid4())
    prefer(me, channels.DINGTALK, Robot(channels.DINGTALK, robots.dingtalk("t1", "SEC-ding", ["Shangji"]),
                                        "SEC-ding", ("Shangji",)))
    registered(me)
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    deliver(channels.DINGTALK)
    [message] = robots.messages("dingtalk:t1")
    assert message["markdown"]["title"] == "[Shangji] 新商机已登记：智能仓储系统二期"
    assert robots.refused == []


def test_a_wrong_dingtalk_secret_is_refused_by_the_robot_and_retried_later(prefer, registered, deliver, robots,
                                                                          scalar, clock):
    me = str(uuid.uuid4())
    robots.dingtalk("t2", "the-real-secret")
    prefer(me, channels.DINGTALK, Robot(channels.DINGTALK, f"{robots.base}/robot/send?access_token=t2", "stale"))
    registered(me)
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    deliver(channels.DINGTALK)
    [(channel, state, attempts, error)] = states(scalar, me)
    assert (channel, state, attempts) == ("DINGTALK", "PENDING", 1) and "310000" in error
    assert robots.messages("dingtalk:t2") == []


def test_feishu_is_signed_with_the_timestamp_and_secret_as_the_key(prefer, registered, deliver, robots, clock):
    me = str(uuid.uuid4())
    prefer(me, channels.FEISHU, Robot(channels.FEISHU, robots.feishu("h1", "SEC-fs"), "SEC-fs"))
    registered(me)
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    deliver(channels.FEISHU)
    [message] = robots.messages("feishu:h1")
    assert message["content"]["post"]["zh_cn"]["title"] == "新商机已登记：智能仓储系统二期"
    assert robots.refused == []


def test_the_generic_webhook_is_signed_over_its_body(prefer, registered, deliver, robots, clock):
    me = str(uuid.uuid4())
    prefer(me, channels.WEBHOOK, Robot(channels.WEBHOOK, robots.webhook("w1", "SEC-hook"), "SEC-hook"))
    registered(me)
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    deliver(channels.WEBHOOK)
    [message] = robots.messages("webhook:w1")
    assert (message["notice_type"], message["title"]) == ("opportunity_registered", "新商机已登记：智能仓储系统二期")
    assert message["subject"].startswith("opportunities/") and robots.refused == []


def test_a_server_answering_500_is_retried_with_backoff_until_it_takes_the_message(prefer, registered, deliver,
                                                                                  robots, scalar, clock):
    me = str(uuid.uuid4())
    prefer(me, channels.WEBHOOK, Robot(channels.WEBHOOK, robots.webhook("w2", "s"), "s"))
    robots.fail("/hooks/w2", 2)
    registered(me)
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    deliver(channels.WEBHOOK)
    assert states(scalar, me)[0][:3] == ("WEBHOOK", "PENDING", 1)
    assert deliver(channels.WEBHOOK) == 0  # waits its backoff
    for _ in range(2):
        clock.now = scalar("SELECT next_attempt_time FROM deliveries WHERE recipient = :r", r=f"users/{me}")
        deliver(channels.WEBHOOK)
    assert states(scalar, me) == [("WEBHOOK", "SENT", 3, "")]
    assert len(robots.messages("webhook:w2")) == 1


def test_retries_exhausted_make_a_dead_letter_with_the_reason_that_the_cli_resends(prefer, registered, deliver, robots,
                                                                                   scalar, clock, shangji_env):
    me = str(uuid.uuid4())
    prefer(me, channels.WEBHOOK, Robot(channels.WEBHOOK, robots.webhook("w3", "s"), "s"))
    robots.fail("/hooks/w3", 3)
    registered(me)
    for _ in range(3):
        clock.now = max(clock.now, scalar("SELECT next_attempt_time FROM deliveries WHERE recipient = :r",
                                          r=f"users/{me}"))
        deliver(channels.WEBHOOK)
    [(_, state, attempts, error)] = states(scalar, me)
    assert (state, attempts) == ("DEAD", 3) and "HTTP 500" in error
    name = "deliveries/" + scalar("SELECT id::text FROM deliveries WHERE recipient = :r", r=f"users/{me}")
    listed = subprocess.run([sys.executable, "-m", "notify.entrypoints.cli", "dead", "--channel", "WEBHOOK"],
                            capture_output=True, text=True, env=os.environ, check=True).stdout
    assert name in listed and "HTTP 500" in listed
    out = subprocess.run([sys.executable, "-m", "notify.entrypoints.cli", "resend", name], capture_output=True,
                         text=True, env=os.environ, check=True).stdout
    assert out.split() == [name, "PENDING"]
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    deliver(channels.WEBHOOK)
    assert states(scalar, me)[0][:3] == ("WEBHOOK", "SENT", 1)
    assert len(robots.messages("webhook:w3")) == 1


def test_wecom_over_20_a_minute_queues_the_rest_and_the_robot_refuses_none(prefer, registered, deliver, robots,
                                                                          scalar, clock):
    me = str(uuid.uuid4())
    prefer(me, channels.WECOM, Robot(channels.WECOM, robots.wecom("busy")))
    for _ in range(25):
        registered(me)
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    deliver(channels.WECOM, batch=50)
    assert len(robots.messages("wecom:busy")) == 20
    waiting = scalar("SELECT count(*) FROM deliveries WHERE recipient = :r AND state = 'PENDING' AND attempts = 0",
                     r=f"users/{me}")
    assert waiting == 5
    clock.advance(seconds=30)
    assert deliver(channels.WECOM, batch=50) == 0
    clock.advance(seconds=31)
    deliver(channels.WECOM, batch=50)
    assert len(robots.messages("wecom:busy")) == 25 and robots.refused == []


def test_email_goes_through_an_smtp_login_with_text_and_html(prefer, registered, deliver, mailbox, scalar, clock):
    me = str(uuid.uuid4())
    prefer(me, channels.EMAIL, email="rep@example.com")
    registered(me)
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    deliver(channels.EMAIL, SmtpSender(mailbox.config))
    [(to, mail)] = mailbox.messages
    assert to == ["rep@example.com"] and mail["Subject"] == "新商机已登记：智能仓储系统二期"
    parts = {p.get_content_type(): p.get_content() for p in mail.iter_parts()}
    assert "华东精密机械有限公司" in parts["text/plain"] and "<h3>新商机已登记" in parts["text/html"]
    assert states(scalar, me) == [("EMAIL", "SENT", 1, "")]


def test_email_goes_over_starttls_verified_against_the_configured_ca(prefer, registered, deliver, tls_mailbox,
                                                                      scalar, clock):
    me = str(uuid.uuid4())
    prefer(me, channels.EMAIL, email="rep@example.com")
    registered(me)
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    deliver(channels.EMAIL, SmtpSender(replace(tls_mailbox.config, tls="none")))  # the server refuses plain text
    assert states(scalar, me)[0][:3] == ("EMAIL", "PENDING", 1) and tls_mailbox.messages == []
    clock.now = scalar("SELECT next_attempt_time FROM deliveries WHERE recipient = :r", r=f"users/{me}")
    deliver(channels.EMAIL, SmtpSender(tls_mailbox.config))
    assert states(scalar, me) == [("EMAIL", "SENT", 2, "")] and len(tls_mailbox.messages) == 1


def test_a_refused_smtp_login_is_a_failed_attempt(prefer, registered, deliver, mailbox, scalar, clock):
    me = str(uuid.uuid4())
    prefer(me, channels.EMAIL, email="rep@example.com")
    registered(me)
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    deliver(channels.EMAIL, SmtpSender(replace(mailbox.config, password="wrong")))
    [(_, state, attempts, error)] = states(scalar, me)
    # aiosmtpd answers 535 and smtplib tries its next mechanism, which the server then drops: either way the
    # attempt failed with the SMTP error as its reason, and nothing was sent.
    assert (state, attempts) == ("PENDING", 1) and error.startswith("SMTP ") and mailbox.messages == []


def test_a_channel_that_hangs_delays_no_other_channel(prefer, registered, robots, mailbox, uow_factory, rules, scalar):
    """The channel loops the worker runs, in threads: the webhook's server holds its request, email goes on."""
    hung, mailed = str(uuid.uuid4()), str(uuid.uuid4())
    prefer(hung, channels.WEBHOOK, Robot(channels.WEBHOOK, robots.webhook("slow", "s"), "s"))
    # An address of its own: an earlier test's failed email to rep@example.com may fall due meanwhile.
    address = f"{mailed[:8]}@example.com"
    prefer(mailed, channels.EMAIL, email=address)
    robots.hold("/hooks/slow")
    stop = threading.Event()
    loops = [
        threading.Thread(target=runners.run_loop, daemon=True, args=(
            name, runners.channel_round(channel, sender, uow_factory, rules, bootstrap.clock), stop.is_set,
            time.sleep, 0.05))
        for name, channel, sender in (("webhook", channels.WEBHOOK, bootstrap.senders()[channels.WEBHOOK]),
                                      ("email", channels.EMAIL, SmtpSender(mailbox.config)))]
    for loop in loops:
        loop.start()
    try:
        registered(hung)
        assert robots.holding.wait(30), "the webhook's request never arrived"
        registered(mailed)
        deadline = time.monotonic() + 30
        mine = lambda: [m for to, m in mailbox.messages if to == [address]]  # noqa: E731
        while not mine() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(mine()) == 1  # delivered while the webhook's request is still held
        assert states(scalar, hung)[0][1] == "PENDING" and robots.messages("webhook:slow") == []
        robots.release()
        deadline = time.monotonic() + 30
        while states(scalar, hung)[0][1] != "SENT" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert states(scalar, hung)[0][1] == "SENT"
    finally:
        stop.set()
        robots.release()
        for loop in loops:
            loop.join(10)
