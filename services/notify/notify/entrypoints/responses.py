"""Outbound: notify's domain objects as its API's protos."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from notify.domain import channels
from notify.domain.channels import Message
from notify.domain.delivery import Delivery
from notify.domain.model import Notification
from notify.domain.preferences import DepartmentRobot, Preferences, Robot
from notify.domain.templates import link_to
from notify.service_layer.delivery import DeliveryPage
from notify.service_layer.reading import NotificationPage
from shangji.notify.v1 import notify_pb2
from shangji_kit import names


def _ts(value) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def channel(value: str) -> int:
    return notify_pb2.Channel.Value(value)


def notification(n: Notification, link_base: str = "") -> notify_pb2.Notification:
    return notify_pb2.Notification(
        name=n.name, id=n.id, recipient=names.format("users", n.recipient_id), title=n.title, body=n.body,
        subject=n.subject, read=n.read, create_time=_ts(n.create_time), read_time=_ts(n.read_time),
        notice_type=n.notice_type, link=link_to(link_base, n.subject))


def page(p: NotificationPage, link_base: str = "") -> notify_pb2.ListNotificationsResponse:
    return notify_pb2.ListNotificationsResponse(
        notifications=[notification(n, link_base) for n in p.notifications], next_page_token=p.next_page_token,
        unread_count=p.unread_count)


def robot(r: Robot) -> notify_pb2.Robot:
    return notify_pb2.Robot(channel=channel(r.channel), url=r.url, keywords=list(r.keywords), has_secret=bool(r.secret))


def preferences(p: Preferences) -> notify_pb2.NotificationPreferences:
    return notify_pb2.NotificationPreferences(
        name=f"users/{p.user_id}/notificationPreferences", locale=p.locale, email=p.email,
        rules=[notify_pb2.ChannelRule(notice_type=r.notice_type, channels=[channel(c) for c in r.channels],
                                      digest=r.digest) for r in p.rules],
        quiet_start=p.quiet_start.strftime("%H:%M") if p.quiet_start else "",
        quiet_end=p.quiet_end.strftime("%H:%M") if p.quiet_end else "",
        digest_time=p.digest_time.strftime("%H:%M"), robots=[robot(r) for r in p.robots], etag=str(p.etag))


def department_robot(r: DepartmentRobot) -> notify_pb2.DepartmentRobot:
    return notify_pb2.DepartmentRobot(name=r.name, robot=robot(r.robot), notice_types=list(r.notice_types),
                                      create_time=_ts(r.create_time))


def delivery(d: Delivery) -> notify_pb2.Delivery:
    return notify_pb2.Delivery(
        name=d.name, source_event_id=d.source_event_id, recipient=d.recipient, channel=channel(d.channel),
        notice_type=d.notice_type, subject=d.subject, state=notify_pb2.Delivery.State.Value(d.state),
        attempts=d.attempts, last_error=d.last_error, next_attempt_time=_ts(d.next_attempt_time),
        sent_time=_ts(d.sent_time), create_time=_ts(d.create_time), digest=d.digest)


def dead_page(p: DeliveryPage) -> notify_pb2.ListDeadDeliveriesResponse:
    return notify_pb2.ListDeadDeliveriesResponse(deliveries=[delivery(d) for d in p.deliveries],
                                                 next_page_token=p.next_page_token)


def preview(m: Message, variables: list[str]) -> notify_pb2.NoticePreview:
    return notify_pb2.NoticePreview(title=m.title, text=m.text, markdown=m.markdown, html=m.html, link=m.link,
                                    variables=variables)


assert set(channels.ALL) <= set(notify_pb2.Channel.keys())
