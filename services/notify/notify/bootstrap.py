"""Wiring: the real unit-of-work factory, the rules from the settings, and each channel's sender."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from notify import templates
from notify.adapters.channels.dingtalk import DingTalkRobot
from notify.adapters.channels.email import SmtpConfig, SmtpSender
from notify.adapters.channels.feishu import FeishuRobot
from notify.adapters.channels.webhook import GenericWebhook
from notify.adapters.channels.wecom import WeComRobot
from notify.adapters.unit_of_work import SqlNotifyUnitOfWork
from notify.domain import channels
from notify.domain.channels import Sender
from notify.domain.delivery import RetryPolicy
from notify.domain.templates import Catalogue
from notify.service_layer.context import Rules
from shangji_kit import company_time, db
from shangji_kit.settings import NotifySettings, Settings


def uow_factory(settings: Settings | None = None) -> Callable[[], SqlNotifyUnitOfWork]:
    settings = settings or Settings.for_service("notify")
    sessions = db.connection_factory(settings.database_url, pool_size=settings.grpc_threads)
    return lambda: SqlNotifyUnitOfWork(sessions)


def rules(settings: NotifySettings | None = None) -> Rules:
    s = settings or NotifySettings.from_env()
    return Rules(tz=company_time.zone(), catalogue=Catalogue(templates.load()), link_base=s.link_base,
                 development=s.development,
                 retry=RetryPolicy(max_attempts=s.max_attempts, base_seconds=s.retry_base_seconds),
                 follow_up_days=s.follow_up_days, stalled_escalation=timedelta(hours=s.stalled_escalation_hours),
                 overdue_escalation_days=s.overdue_escalation_days, routing_role=s.routing_role)


def senders(settings: NotifySettings | None = None) -> dict[str, Sender]:
    """One sender per external channel. Signatures use the wall clock: the servers check it."""
    s = settings or NotifySettings.from_env()
    smtp = SmtpConfig(host=s.smtp_host, port=s.smtp_port, sender=s.smtp_from, tls=s.smtp_tls, user=s.smtp_user,
                      password=s.smtp_password, ca_file=s.smtp_ca_file)
    return {
        channels.EMAIL: SmtpSender(smtp),
        channels.WECOM: WeComRobot(),
        channels.DINGTALK: DingTalkRobot(lambda: int(time.time() * 1000)),
        channels.FEISHU: FeishuRobot(lambda: int(time.time())),
        channels.WEBHOOK: GenericWebhook(lambda: datetime.now(UTC).isoformat()),
    }


def clock() -> datetime:
    return datetime.now(UTC)
