"""The notify gRPC front: read the request, call the use case, answer with the proto."""

from __future__ import annotations

from collections import deque
from datetime import timedelta

import grpc
from google.protobuf import empty_pb2

from notify import bootstrap
from notify.entrypoints import requests, responses
from notify.entrypoints.streams import StreamHub
from notify.service_layer import delivery, preferences, preview, reading, robots
from shangji.notify.v1 import notify_pb2, notify_pb2_grpc
from shangji_kit import auth, names
from shangji_kit.caller import user_id
from shangji_kit.rpc import server
from shangji_kit.settings import NotifySettings, Settings

# A stream re-reads this far back and skips what it sent, so a notice whose transaction committed
# after a newer one's is still sent.
STREAM_OVERLAP = timedelta(seconds=5)
_ZERO_ID = "00000000-0000-0000-0000-000000000000"


class NotifyApi(notify_pb2_grpc.NotifyServiceServicer):
    def __init__(self, uow_factory, rules, hub: StreamHub, clock=bootstrap.clock) -> None:
        self.uow = uow_factory
        self.rules = rules
        self.hub = hub
        self.clock = clock

    def ListNotifications(self, request, context):
        page = reading.list_notifications(auth.principal().user_id, request.page_size, request.page_token,
                                          request.unread_only, self.uow())
        return responses.page(page, self.rules.link_base)

    def MarkNotificationRead(self, request, context):
        notification_id = names.parse(request.name, "notifications")
        n = reading.mark_notification_read(notification_id, auth.principal().user_id, self.uow(), self.clock())
        return responses.notification(n, self.rules.link_base)

    def MarkAllNotificationsRead(self, request, context):
        marked = reading.mark_all_read(auth.principal().user_id, self.uow(), self.clock())
        return notify_pb2.MarkAllNotificationsReadResponse(marked_count=marked)

    def GetUnreadCount(self, request, context):
        return notify_pb2.UnreadCount(unread_count=reading.unread_count(auth.principal().user_id, self.uow()))

    def StreamNotifications(self, request, context):
        caller = auth.principal().user_id
        resume = names.parse(request.resume_after, "notifications", "resume_after") if request.resume_after else None
        after = reading.stream_start(caller, resume, self.uow())
        if after is None:
            latest = reading.newer_notices(caller, None, self.uow())
            after = (latest[0].create_time, latest[0].id) if latest else (self.clock() - STREAM_OVERLAP, _ZERO_ID)
        sent: deque[str] = deque(maxlen=500)
        sent_ids: set[str] = set()
        with self.hub.open(user_id(caller)) as wake:
            context.add_callback(wake.set)
            cursor = after
            while context.is_active():
                wake.clear()
                since = (cursor[0] - STREAM_OVERLAP, _ZERO_ID) if sent_ids else cursor
                for n in reading.newer_notices(caller, since, self.uow()):
                    if n.id in sent_ids or (n.create_time, n.id) <= after:
                        continue
                    if len(sent) == sent.maxlen:
                        sent_ids.discard(sent[0])
                    sent.append(n.id)
                    sent_ids.add(n.id)
                    cursor = max(cursor, (n.create_time, n.id))
                    yield responses.notification(n, self.rules.link_base)
                wake.wait(self.hub.poll_seconds)

    def GetNotificationPreferences(self, request, context):
        user_id = requests.user_of_preferences(request.name)
        return responses.preferences(preferences.get_preferences(auth.principal().user_id, user_id, self.uow()))

    def UpdateNotificationPreferences(self, request, context):
        user_id, changes, paths, times = requests.preferences(request)
        saved = preferences.update_preferences(auth.principal().user_id, user_id, changes, paths, request.etag, times,
                                               self.uow(), self.rules, self.clock())
        return responses.preferences(saved)

    def CreateDepartmentRobot(self, request, context):
        made = robots.create_robot(auth.principal().user_id, requests.department_robot(request), self.uow(),
                                   self.rules, self.clock())
        return responses.department_robot(made)

    def ListDepartmentRobots(self, request, context):
        department_id = names.parse(request.parent, "departments", "parent")
        found = robots.list_robots(auth.principal().user_id, department_id, self.uow())
        return notify_pb2.ListDepartmentRobotsResponse(robots=[responses.department_robot(r) for r in found])

    def DeleteDepartmentRobot(self, request, context):
        department_id, robot_id = requests.robot_name(request.name)
        robots.delete_robot(auth.principal().user_id, department_id, robot_id, self.uow())
        return empty_pb2.Empty()

    def ListDeadDeliveries(self, request, context):
        page = delivery.list_dead(auth.principal().user_id, request.page_size, request.page_token,
                                  requests.optional_channel(request.channel), self.uow())
        return responses.dead_page(page)

    def ResendDelivery(self, request, context):
        delivery_id = names.parse(request.name, "deliveries")
        return responses.delivery(delivery.resend(auth.principal().user_id, delivery_id, self.uow(), self.clock()))

    def PreviewNotice(self, request, context):
        message, variables = preview.preview(request.notice_type, request.locale, dict(request.variables),
                                             request.subject, self.rules)
        return responses.preview(message, variables)


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    settings = settings or Settings.for_service("notify")
    notify_settings = NotifySettings.from_env()
    hub = StreamHub(settings.database_url, notify_settings.max_streams)
    api = NotifyApi(bootstrap.uow_factory(settings), bootstrap.rules(notify_settings), hub)
    notify_pb2_grpc.add_NotifyServiceServicer_to_server(api, grpc_server)
    return ["shangji.notify.v1.NotifyService"]


if __name__ == "__main__":
    server.main("notify", register)
