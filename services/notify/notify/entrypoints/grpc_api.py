"""The notify gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

import grpc

from notify import bootstrap
from notify.adapters import protomap
from notify.service_layer import services
from shangji.notify.v1 import notify_pb2_grpc
from shangji_kit import auth, names
from shangji_kit.rpc import server
from shangji_kit.settings import Settings


class NotifyApi(notify_pb2_grpc.NotifyServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def ListNotifications(self, request, context):
        page = services.list_notifications(auth.principal().user_id, request.page_size, request.page_token,
                                           request.unread_only, self.uow())
        return protomap.page_to_proto(page)

    def MarkNotificationRead(self, request, context):
        notification_id = names.parse(request.name, "notifications")
        notification = services.mark_notification_read(notification_id, auth.principal().user_id, self.uow())
        return protomap.notification_to_proto(notification)


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    notify_pb2_grpc.add_NotifyServiceServicer_to_server(NotifyApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.notify.v1.NotifyService"]


if __name__ == "__main__":
    server.main("notify", register)
