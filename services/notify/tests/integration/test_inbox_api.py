"""The new parts of the notify API through the front in-process: unread count, mark all read, the stream,
preferences, department robots, dead deliveries and previews."""

from __future__ import annotations

import queue
import threading
import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from notify.entrypoints import grpc_api
from shangji.notify.v1 import notify_pb2, notify_pb2_grpc
from shangji_kit.rpc.client import Caller
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.calls import fails
from shangji_kit.testing.processes import running_front

N = notify_pb2


@pytest.fixture(scope="module")
def front(shangji_env):
    """A front as production runs it (https robots only), with room for two open streams; the settings are read
    when it starts, so the environment is restored right after."""
    with pytest.MonkeyPatch.context() as keep, pytest.MonkeyPatch.context() as mp:
        # Production refuses the public development secret: this front and the tokens share a secret of
        # their own for the module.
        keep.setenv("SHANGJI_JWT_SECRET", "notify-inbox-tests-own-secret-" + "x" * 32)
        mp.setenv("SHANGJI_ENV", "production")
        mp.setenv("SHANGJI_NOTIFY_MAX_STREAMS", "2")
        with running_front("notify", grpc_api.register) as f:
            mp.undo()
            yield f


@pytest.fixture
def channel(front):
    ch = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    yield ch
    ch.close()


@pytest.fixture
def as_user(channel, token_for):
    return lambda user_id: Caller(notify_pb2_grpc.NotifyServiceStub(channel), token_for(user_id))


def test_mark_all_read_marks_only_the_callers_and_the_count_follows(as_user, worker, opportunity_registered):
    me, other = str(uuid.uuid4()), str(uuid.uuid4())
    for user in (me, me, me, other):
        worker.on_opportunity_registered(opportunity_registered(owner=user))
    caller = as_user(me)
    assert caller.GetUnreadCount(N.GetUnreadCountRequest()).unread_count == 3
    assert caller.MarkAllNotificationsRead(N.MarkAllNotificationsReadRequest()).marked_count == 3
    assert caller.MarkAllNotificationsRead(N.MarkAllNotificationsReadRequest()).marked_count == 0
    assert caller.GetUnreadCount(N.GetUnreadCountRequest()).unread_count == 0
    assert as_user(other).GetUnreadCount(N.GetUnreadCountRequest()).unread_count == 1
    listed = caller.ListNotifications(N.ListNotificationsRequest())
    assert all(n.read and n.read_time.seconds for n in listed.notifications)
    assert {n.notice_type for n in listed.notifications} == {"opportunity_registered"}


def test_the_stream_pushes_new_notices_to_their_recipient_only(as_user, worker, opportunity_registered):
    me = str(uuid.uuid4())
    worker.on_opportunity_registered(opportunity_registered(owner=me, title="已有的"))
    call = as_user(me).StreamNotifications(N.StreamNotificationsRequest(), timeout=60)
    got: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [got.put(n) for n in call], daemon=True)
    reader.start()
    try:
        worker.on_opportunity_registered(opportunity_registered(owner=str(uuid.uuid4()), title="别人的"))
        worker.on_opportunity_registered(opportunity_registered(owner=me, title="新来的"))
        first = got.get(timeout=30)
        assert first.title == "新商机已登记：新来的" and first.recipient == f"users/{me}"
        worker.on_opportunity_registered(opportunity_registered(owner=me, title="第三个"))
        assert got.get(timeout=30).title == "新商机已登记：第三个"
    finally:
        call.cancel()
        reader.join(10)
    assert got.empty()


def test_streams_are_bounded_and_one_more_is_unavailable(as_user, worker, opportunity_registered):
    users = [str(uuid.uuid4()) for _ in range(3)]
    open_calls = [as_user(u).StreamNotifications(N.StreamNotificationsRequest(), timeout=60) for u in users[:2]]
    try:
        # each open stream has pushed a notice, so both hold their slot in the server
        for user, call in zip(users, open_calls, strict=False):
            worker.on_opportunity_registered(opportunity_registered(owner=user))
            assert next(call).recipient == f"users/{user}"
        extra = as_user(users[2]).StreamNotifications(N.StreamNotificationsRequest(), timeout=60)
        with pytest.raises(grpc.RpcError) as exc:
            for _ in range(50):
                next(extra)
        assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
        assert details_of(exc.value)["reason"] == "TOO_MANY_STREAMS"
    finally:
        for c in open_calls:
            c.cancel()


def prefs(user: str, **fields) -> N.NotificationPreferences:
    return N.NotificationPreferences(name=f"users/{user}/notificationPreferences", **fields)


def test_preferences_default_then_change_with_an_etag(as_user):
    me = str(uuid.uuid4())
    caller = as_user(me)
    got = caller.GetNotificationPreferences(N.GetNotificationPreferencesRequest(
        name=f"users/{me}/notificationPreferences"))
    assert (got.locale, got.digest_time, list(got.rules), got.etag) == ("zh-CN", "18:00", [], "0")
    robot = N.Robot(channel=N.DINGTALK, url="https://oapi.dingtalk.com/robot/send?access_token=t", secret="SEC",
                    keywords=["商机"])
    saved = caller.UpdateNotificationPreferences(N.UpdateNotificationPreferencesRequest(
        preferences=prefs(me, locale="en", quiet_start="22:00", quiet_end="08:00", robots=[robot],
                          rules=[N.ChannelRule(notice_type="big_deal", channels=[N.DINGTALK, N.EMAIL], digest=True)]),
        etag="0"))
    assert (saved.locale, saved.quiet_start, saved.quiet_end, saved.etag) == ("en", "22:00", "08:00", "1")
    assert saved.robots[0].has_secret and not saved.robots[0].secret
    stale = fails(caller.UpdateNotificationPreferences, N.UpdateNotificationPreferencesRequest(
        preferences=prefs(me, locale="zh-TW"), update_mask=field_mask_pb2.FieldMask(paths=["locale"]), etag="0"))
    assert stale.code() == grpc.StatusCode.ABORTED
    # the robot's secret is kept when the robot comes back without it
    again = caller.UpdateNotificationPreferences(N.UpdateNotificationPreferencesRequest(
        preferences=prefs(me, robots=[N.Robot(channel=N.DINGTALK, url=robot.url)],
                          rules=[N.ChannelRule(notice_type="big_deal", channels=[N.DINGTALK])]),
        update_mask=field_mask_pb2.FieldMask(paths=["robots", "rules"])))
    assert again.robots[0].has_secret and again.locale == "en" and again.etag == "2"


@pytest.mark.parametrize(("fields", "field"), [
    ({"rules": [N.ChannelRule(notice_type="no_such_event", channels=[N.EMAIL])]}, "preferences.rules[0].notice_type"),
    ({"robots": [N.Robot(channel=N.WECOM, url="http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")]},
     "preferences.robots[0].url"),
    ({"robots": [N.Robot(channel=N.FEISHU, url="https://open.feishu.cn/open-apis/bot/v2/hook/h")]},
     "preferences.robots[0].secret"),
    ({"robots": [N.Robot(channel=N.WEBHOOK, url="https://erp.example.com/hook")]}, "preferences.robots[0].secret"),
    ({"quiet_start": "25:99", "quiet_end": "08:00"}, "preferences.quiet_start"),
    ({"locale": "fr"}, "preferences.locale"),
])
def test_bad_preferences_are_invalid_argument_naming_the_field_and_store_nothing(as_user, fields, field):
    me = str(uuid.uuid4())
    caller = as_user(me)
    exc = fails(caller.UpdateNotificationPreferences, N.UpdateNotificationPreferencesRequest(
        preferences=prefs(me, **fields)))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in details_of(exc)["fields"]
    got = caller.GetNotificationPreferences(N.GetNotificationPreferencesRequest(
        name=f"users/{me}/notificationPreferences"))
    assert got.etag == "0"


def test_someone_elses_preferences_are_not_found(as_user):
    owner = str(uuid.uuid4())
    exc = fails(as_user(str(uuid.uuid4())).GetNotificationPreferences, N.GetNotificationPreferencesRequest(
        name=f"users/{owner}/notificationPreferences"))
    assert exc.code() == grpc.StatusCode.NOT_FOUND


def test_a_departments_robots_are_its_heads_to_manage(as_user, org):
    head, rep = str(uuid.uuid4()), str(uuid.uuid4())
    dept = org.department(head=head)
    org.user(head, department=dept)
    org.user(rep, department=dept)
    request = N.CreateDepartmentRobotRequest(parent=f"departments/{dept}", robot=N.DepartmentRobot(
        robot=N.Robot(channel=N.WECOM, url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"),
        notice_types=["big_deal", "stalled"]))
    denied = fails(as_user(rep).CreateDepartmentRobot, request)
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    made = as_user(head).CreateDepartmentRobot(request)
    assert made.name.startswith(f"departments/{dept}/robots/") and list(made.notice_types) == ["big_deal", "stalled"]
    listed = as_user(head).ListDepartmentRobots(N.ListDepartmentRobotsRequest(parent=f"departments/{dept}"))
    assert [r.name for r in listed.robots] == [made.name]
    bad = fails(as_user(head).CreateDepartmentRobot, N.CreateDepartmentRobotRequest(
        parent=f"departments/{dept}", robot=N.DepartmentRobot(
            robot=N.Robot(channel=N.DINGTALK, url="http://oapi.dingtalk.com/robot/send?access_token=t"),
            notice_types=["nope"])))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(details_of(bad)["fields"]) == {"robot.robot.url", "robot.robot.secret", "robot.notice_types[0]"}
    as_user(head).DeleteDepartmentRobot(N.DeleteDepartmentRobotRequest(name=made.name))
    gone = fails(as_user(head).DeleteDepartmentRobot, N.DeleteDepartmentRobotRequest(name=made.name))
    assert gone.code() == grpc.StatusCode.NOT_FOUND


def test_dead_deliveries_are_for_operators_who_can_resend_them(as_user, org, uow_factory, rules, clock):
    from notify.domain.delivery import DEAD, Delivery

    ops, rep = str(uuid.uuid4()), str(uuid.uuid4())
    org.user(ops, roles=("sales_ops",))
    org.user(rep)
    dead = Delivery(id=str(uuid.uuid4()), source_event_id=str(uuid.uuid4()), recipient=f"users/{rep}",
                    channel="WEBHOOK", notice_type="big_deal", subject="opportunities/x", facts={}, locale="zh-CN",
                    next_attempt_time=clock(), create_time=clock(), state=DEAD, attempts=8, last_error="HTTP 502")
    uow = uow_factory()
    with uow:
        uow.deliveries.add(dead)
        uow.commit()
    denied = fails(as_user(rep).ListDeadDeliveries, N.ListDeadDeliveriesRequest())
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = as_user(ops).ListDeadDeliveries(N.ListDeadDeliveriesRequest(channel=N.WEBHOOK, page_size=200))
    mine = [d for d in listed.deliveries if d.name == dead.name]
    assert mine and (mine[0].state, mine[0].last_error, mine[0].attempts) == (N.Delivery.DEAD, "HTTP 502", 8)
    again = as_user(ops).ResendDelivery(N.ResendDeliveryRequest(name=dead.name))
    assert (again.state, again.attempts, again.last_error) == (N.Delivery.PENDING, 0, "")


def test_a_preview_renders_each_channels_form_in_the_locale(as_user):
    caller = as_user(str(uuid.uuid4()))
    p = caller.PreviewNotice(N.PreviewNoticeRequest(notice_type="big_deal", locale="en", variables={
        "title": "Smart Park", "customer_company": "Zhejiang Yuanda", "amount": "3000000", "currency": "CNY"}))
    assert p.title == "Big deal: Smart Park"
    assert "3000000 CNY" in p.text and "{threshold}" in p.text  # a missing variable is shown, not an error
    assert p.markdown.startswith("**Big deal: Smart Park**") and p.html.startswith("<h3>")
    assert set(p.variables) >= {"title", "customer_company", "amount", "currency", "threshold"}
    tw = caller.PreviewNotice(N.PreviewNoticeRequest(notice_type="big_deal", locale="zh-TW",
                                                     variables={"title": "智慧園區"}))
    assert tw.title == "大額商機：智慧園區"
    bad = fails(caller.PreviewNotice, N.PreviewNoticeRequest(notice_type="nope", locale="xx"))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(details_of(bad)["fields"]) == {"notice_type", "locale"}
