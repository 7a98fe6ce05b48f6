"""The notify front in-process against the session's real notify database."""

import uuid

import grpc
import pytest

from notify.entrypoints import grpc_api
from shangji.notify.v1 import notify_pb2, notify_pb2_grpc
from shangji_kit.rpc.client import Caller
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.calls import fails
from shangji_kit.testing.processes import running_front


@pytest.fixture(scope="module")
def front(shangji_env):
    with running_front("notify", grpc_api.register) as f:
        yield f


@pytest.fixture
def as_user(front, token_for):
    """``as_user(user_id)``: the notify API called with that user's token."""
    channel = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    yield lambda user_id: Caller(notify_pb2_grpc.NotifyServiceStub(channel), token_for(user_id))
    channel.close()


@pytest.fixture
def notify(worker, opportunity_registered, scalar):
    """``notify(recipient)``: a notification made the way the worker makes it; returns its resource name."""
    def make(recipient: str) -> str:
        body = opportunity_registered(owner=recipient)
        worker.on_opportunity_registered(body)
        return "notifications/" + scalar("SELECT id::text FROM notifications WHERE source_event_id = :e", e=body["id"])

    return make


def listed(caller, **fields) -> list[notify_pb2.ListNotificationsResponse]:
    pages, token = [], ""
    while True:
        resp = caller.ListNotifications(notify_pb2.ListNotificationsRequest(page_token=token, **fields))
        pages.append(resp)
        token = resp.next_page_token
        if not token:
            return pages


def test_list_pages_through_the_callers_notifications_newest_first(as_user, notify):
    me = str(uuid.uuid4())
    created = [notify(me) for _ in range(5)]
    notify(str(uuid.uuid4()))  # someone else's: never listed
    pages = listed(as_user(me), page_size=2)
    assert [len(p.notifications) for p in pages] == [2, 2, 1]
    assert [n.name for p in pages for n in p.notifications] == list(reversed(created))
    assert {p.unread_count for p in pages} == {5}
    first = pages[0].notifications[0]
    assert first.recipient == f"users/{me}" and first.subject.startswith("opportunities/") and not first.read


def test_marking_read_once_sets_the_read_time_and_again_changes_nothing(as_user, notify):
    me = str(uuid.uuid4())
    name = notify(me)
    caller = as_user(me)
    first = caller.MarkNotificationRead(notify_pb2.MarkNotificationReadRequest(name=name))
    assert first.read and first.read_time.seconds > 0
    again = caller.MarkNotificationRead(notify_pb2.MarkNotificationReadRequest(name=name))
    assert again == first


def test_unread_only_and_the_unread_count(as_user, notify):
    me = str(uuid.uuid4())
    names = [notify(me) for _ in range(3)]
    caller = as_user(me)
    caller.MarkNotificationRead(notify_pb2.MarkNotificationReadRequest(name=names[1]))
    everything = caller.ListNotifications(notify_pb2.ListNotificationsRequest())
    assert [n.name for n in everything.notifications] == list(reversed(names))
    assert [n.read for n in everything.notifications] == [False, True, False]
    assert everything.unread_count == 2
    unread = listed(caller, unread_only=True, page_size=1)
    assert [n.name for p in unread for n in p.notifications] == [names[2], names[0]]
    assert {p.unread_count for p in unread} == {2}


def test_someone_elses_notification_is_not_found_exactly_as_a_missing_one(as_user, notify):
    owner = str(uuid.uuid4())
    name = notify(owner)
    stranger = as_user(str(uuid.uuid4()))
    hidden = fails(stranger.MarkNotificationRead, notify_pb2.MarkNotificationReadRequest(name=name))
    missing_name = f"notifications/{uuid.uuid4()}"
    missing = fails(stranger.MarkNotificationRead, notify_pb2.MarkNotificationReadRequest(name=missing_name))
    assert hidden.code() == missing.code() == grpc.StatusCode.NOT_FOUND
    assert details_of(hidden)["reason"] == details_of(missing)["reason"] == "NOT_FOUND"
    # and it stayed unread for its recipient
    assert as_user(owner).ListNotifications(notify_pb2.ListNotificationsRequest()).unread_count == 1


def test_a_bad_name_is_invalid_argument_naming_the_field(as_user):
    exc = fails(as_user(str(uuid.uuid4())).MarkNotificationRead, notify_pb2.MarkNotificationReadRequest(name="x/1"))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc)["fields"] == ["name"]


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"page_size": -1}, "page_size"),
    ({"page_token": "not-a-token"}, "page_token"),
    ({"page_token": "bm90fGEtdG9rZW4="}, "page_token"),  # base64 of "not|a-token"
])
def test_bad_paging_is_invalid_argument_naming_the_field(as_user, request_fields, field):
    caller = as_user(str(uuid.uuid4()))
    exc = fails(caller.ListNotifications, notify_pb2.ListNotificationsRequest(**request_fields))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc)["fields"] == [field]
