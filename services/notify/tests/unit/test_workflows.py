"""The notices, delivery, preferences, robots and reminders workflows on the in-memory unit of work:
no PostgreSQL, no RabbitMQ, a clock moved by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from notify import templates
from notify.adapters.in_memory import Clock, RecordingSender
from notify.adapters.in_memory import InMemoryNotifyUnitOfWork as FakeUnitOfWork
from notify.domain import channels
from notify.domain.channels import DeliveryFailed
from notify.domain.delivery import DEAD, PENDING, SENT, RetryPolicy
from notify.domain.preferences import DepartmentRobot, Preferences, Robot, Rule
from notify.domain.templates import Catalogue
from notify.service_layer import delivery, notices, preferences, reminders, robots
from notify.service_layer.context import Rules
from notify.service_layer.notices import EventEffects, NoticeRequest
from shangji_kit import company_time
from shangji_kit.errors import Aborted, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.inbox import Delivery as EventDelivery
from shangji_kit.visibility import OrgDepartment, OrgUser

OWNER, HEAD, BIGHEAD, OPS, STRANGER = (f"{n}1111111-1111-4111-8111-111111111111" for n in "12345")
TEAM, DIVISION = "d1111111-1111-4111-8111-111111111111", "d2222222-2222-4222-8222-222222222222"
TZ = company_time.zone("Asia/Shanghai")
# 10:00 in Shanghai
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
RULES = Rules(tz=TZ, catalogue=Catalogue(templates.load()), retry=RetryPolicy(max_attempts=3, base_seconds=10),
              development=False, overdue_escalation_days=7)
DEAL = "opportunities/9e9e9e9e-1111-4111-8111-111111111111"
FACTS = {"title": "智能仓储", "customer_company": "华东精密", "stage_display_name": "需求分析", "registrant": "users/x"}


def org(uow: FakeUnitOfWork) -> FakeUnitOfWork:
    """OWNER in TEAM (head HEAD) under DIVISION (head BIGHEAD); OPS holds sales_ops."""
    with uow:
        o = uow.org
        o.apply_department(OrgDepartment(DIVISION, None, f"/{DIVISION}/", BIGHEAD, T0))
        o.apply_department(OrgDepartment(TEAM, DIVISION, f"/{DIVISION}/{TEAM}/", HEAD, T0))
        people = ((OWNER, TEAM, ()), (HEAD, TEAM, ()), (BIGHEAD, DIVISION, ()), (OPS, None, ("sales_ops",)))
        for user, dept, roles in people:
            o.apply_user(OrgUser(user, dept, roles, True, T0))
            o.save_contact(user, f"{user[:4]}@example.com", user[:4], T0)
        uow.commit()
    return uow


def prefs(uow: FakeUnitOfWork, p: Preferences) -> None:
    with uow:
        uow.preferences.save(p, T0)
        uow.commit()


def event(n: int = 1) -> EventDelivery:
    return EventDelivery("notify.test", f"e{n}", "t")


def registered(uow, now=T0, n=1):
    return notices.notify(NoticeRequest("opportunity_registered", [OWNER], DEAL, FACTS), event(n), uow, RULES, now)


# --- notices -----------------------------------------------------------------------------------------

def test_an_event_makes_the_notice_and_the_deliveries_the_preferences_ask_for_once():
    uow = org(FakeUnitOfWork())
    prefs(uow, Preferences(OWNER, rules=(Rule("opportunity_registered", (channels.EMAIL, channels.IN_APP)),)))
    made = registered(uow)
    assert [n.title for n in made] == ["新商机已登记：智能仓储"] and uow.woken == [OWNER]
    [email] = uow.deliveries_of()
    assert (email.channel, email.recipient, email.state, email.next_attempt_time) == (
        channels.EMAIL, f"users/{OWNER}", PENDING, T0)
    assert registered(uow) == [] and len(uow.deliveries_of()) == 1 and len(uow.notifications.of(OWNER)) == 1


def test_a_notice_type_without_a_rule_stays_in_the_inbox():
    uow = org(FakeUnitOfWork())
    registered(uow)
    assert len(uow.notifications.of(OWNER)) == 1 and uow.deliveries_of() == []


def test_the_notice_is_worded_in_the_recipients_locale():
    uow = org(FakeUnitOfWork())
    prefs(uow, Preferences(OWNER, locale="en"))
    [n] = registered(uow)
    assert n.title == "New deal registered: 智能仓储"


def test_quiet_hours_hold_external_deliveries_until_they_end_in_the_company_zone():
    uow = org(FakeUnitOfWork())
    prefs(uow, Preferences(OWNER, quiet_start=time(22, 0), quiet_end=time(8, 0),
                           rules=(Rule("opportunity_registered", (channels.EMAIL,)),)))
    late = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    registered(uow, now=late)
    [d] = uow.deliveries_of()
    assert d.next_attempt_time == datetime(2026, 12, 8, 0, 0, tzinfo=UTC)  # 08:00 the next day in Shanghai
    assert len(uow.notifications.of(OWNER)) == 1  # the inbox is not held back


def test_a_digest_rule_waits_for_the_digest_time_and_sends_one_message_for_all():
    uow = org(FakeUnitOfWork())
    prefs(uow, Preferences(OWNER, digest_time=time(18, 0),
                           rules=(Rule("opportunity_registered", (channels.EMAIL,), digest=True),)))
    for n in range(3):
        registered(uow, n=n)
    assert {d.next_attempt_time for d in uow.deliveries_of()} == {datetime(2026, 12, 7, 10, 0, tzinfo=UTC)}
    sender, clock = RecordingSender(), Clock(T0)
    assert delivery.deliver_due(channels.EMAIL, sender, uow, RULES, clock) == 0
    clock.now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    # a batch of one still sends one digest of all three
    assert delivery.deliver_due(channels.EMAIL, sender, uow, replace(RULES, batch=1), clock) == 3
    [(endpoint, message)] = sender.sent
    assert endpoint.address == f"{OWNER[:4]}@example.com" and message.title == "今日通知汇总（3 条）"
    assert {d.state for d in uow.deliveries_of()} == {SENT}


def test_a_department_robot_takes_a_copy_of_its_team_wide_notice_types():
    uow = org(FakeUnitOfWork())
    with uow:
        uow.robots.add(DepartmentRobot("r1", TEAM, Robot(channels.WECOM, "https://qyapi.example/send?key=k"),
                                       ("opportunity_registered",)))
        uow.robots.add(DepartmentRobot("r2", TEAM, Robot(channels.WECOM, "https://qyapi.example/send?key=j"),
                                       ("big_deal",)))
        uow.commit()
    registered(uow)
    assert [d.recipient for d in uow.deliveries_of()] == [f"departments/{TEAM}/robots/r1"]


def test_managers_are_resolved_from_the_organisation_and_roles_only_as_a_fallback():
    uow = org(FakeUnitOfWork())
    request = NoticeRequest("registration_arbitration_requested", [], DEAL, FACTS, managers_of=(OWNER,),
                            role_holders=("sales_ops",), roles_as_fallback=True)
    notices.notify(request, event(1), uow, RULES, T0)
    assert [n.recipient_id for n in uow.notifications.of(HEAD)] == [HEAD] and uow.notifications.of(OPS) == []
    # the head's own manager is the next head up; nobody known at all falls back to the role
    notices.notify(NoticeRequest("stalled_escalation", [], DEAL, FACTS, managers_of=(HEAD,)), event(2), uow, RULES, T0)
    assert len(uow.notifications.of(BIGHEAD)) == 1
    nobody = NoticeRequest("registration_arbitration_requested", [], DEAL, FACTS, managers_of=(STRANGER,),
                           role_holders=("sales_ops",), roles_as_fallback=True)
    notices.notify(nobody, event(3), uow, RULES, T0)
    assert len(uow.notifications.of(OPS)) == 1


# --- delivery ----------------------------------------------------------------------------------------

def emailing(uow):
    prefs(uow, Preferences(OWNER, rules=(Rule("opportunity_registered", (channels.EMAIL,)),)))
    return uow


def test_a_failed_send_is_retried_with_backoff_then_dead_with_its_reason_and_resent():
    uow = emailing(org(FakeUnitOfWork()))
    registered(uow)
    sender, clock = RecordingSender(), Clock(T0)
    sender.failures = [DeliveryFailed("HTTP 500") for _ in range(3)]
    delivery.deliver_due(channels.EMAIL, sender, uow, RULES, clock)
    [d] = uow.deliveries_of()
    assert (d.state, d.attempts, d.last_error) == (PENDING, 1, "HTTP 500")
    assert T0 + timedelta(seconds=5) <= d.next_attempt_time <= T0 + timedelta(seconds=10)
    assert delivery.deliver_due(channels.EMAIL, sender, uow, RULES, clock) == 0  # not before its time
    for _ in range(2):
        clock.now = uow.deliveries_of()[0].next_attempt_time
        delivery.deliver_due(channels.EMAIL, sender, uow, RULES, clock)
    [d] = uow.deliveries_of()
    assert (d.state, d.attempts) == (DEAD, 3)
    page = delivery.list_dead(OPS, 0, "", None, uow)
    assert [x.id for x in page.deliveries] == [d.id] and page.deliveries[0].last_error == "HTTP 500"
    with pytest.raises(PermissionDenied):
        delivery.resend(OWNER, d.id, uow, clock())
    again = delivery.resend(OPS, d.id, uow, clock())
    assert (again.state, again.attempts) == (PENDING, 0)
    delivery.deliver_due(channels.EMAIL, sender, uow, RULES, clock)
    assert uow.deliveries_of()[0].state == SENT and len(sender.sent) == 1


def test_a_robot_over_its_rate_limit_queues_the_rest_for_the_next_minute_and_loses_none():
    uow = org(FakeUnitOfWork())
    robot = Robot(channels.WECOM, "https://qyapi.example/send?key=k")
    prefs(uow, Preferences(OWNER, robots=(robot,), rules=(Rule("opportunity_registered", (channels.WECOM,)),)))
    for n in range(25):
        registered(uow, n=n)
    sender, clock = RecordingSender(), Clock(T0)
    rules = Rules(tz=TZ, catalogue=RULES.catalogue, batch=50)
    delivery.deliver_due(channels.WECOM, sender, uow, rules, clock)
    assert len(sender.sent) == 20
    waiting = [d for d in uow.deliveries_of() if d.state == PENDING]
    assert len(waiting) == 5 and {d.attempts for d in waiting} == {0}
    assert {d.next_attempt_time for d in waiting} == {T0 + timedelta(seconds=60)}
    clock.advance(seconds=30)
    assert delivery.deliver_due(channels.WECOM, sender, uow, rules, clock) == 0
    clock.advance(seconds=30)
    delivery.deliver_due(channels.WECOM, sender, uow, rules, clock)
    assert len(sender.sent) == 25 and {d.state for d in uow.deliveries_of()} == {SENT}


def test_an_unexpected_error_in_a_channel_counts_as_a_failed_attempt():
    uow = emailing(org(FakeUnitOfWork()))
    registered(uow)
    sender = RecordingSender()
    sender.failures = [RuntimeError("adapter bug")]
    delivery.deliver_due(channels.EMAIL, sender, uow, RULES, Clock(T0))
    [d] = uow.deliveries_of()
    assert (d.state, d.attempts, d.last_error) == (PENDING, 1, "RuntimeError: adapter bug")


def test_a_recipient_without_an_address_is_dead_at_once_with_the_reason():
    uow = FakeUnitOfWork()
    prefs(uow, Preferences(STRANGER, rules=(Rule("opportunity_registered", (channels.EMAIL,)),)))
    notices.notify(NoticeRequest("opportunity_registered", [STRANGER], DEAL, FACTS), event(), uow, RULES, T0)
    delivery.deliver_due(channels.EMAIL, RecordingSender(), uow, RULES, Clock(T0))
    [d] = uow.deliveries_of()
    assert d.state == DEAD and "no EMAIL endpoint" in d.last_error


# --- preferences and robots ------------------------------------------------------------------------

def update(uow, p: Preferences, paths=("rules", "robots"), etag="", caller=OWNER):
    return preferences.update_preferences(caller, OWNER, p, set(paths), etag, {}, uow, RULES, T0)


@pytest.mark.parametrize(("p", "field"), [
    (Preferences(OWNER, rules=(Rule("no_such_notice", (channels.EMAIL,)),)), "preferences.rules[0].notice_type"),
    (Preferences(OWNER, robots=(Robot(channels.WECOM, "http://qyapi.example/send?key=k"),)),
     "preferences.robots[0].url"),
    (Preferences(OWNER, robots=(Robot(channels.DINGTALK, "https://oapi.example/robot/send?access_token=t"),)),
     "preferences.robots[0].secret"),
    (Preferences(OWNER, rules=(Rule("big_deal", (channels.FEISHU,)),)), "preferences.rules[0].channels"),
])
def test_bad_preferences_are_invalid_argument_naming_the_field_and_change_nothing(p, field):
    uow = FakeUnitOfWork()
    with pytest.raises(InvalidArgument) as exc:
        update(uow, p)
    assert field in [v.field for v in exc.value.violations]
    assert uow.committed == 0


def test_someone_elses_preferences_are_not_found_and_a_stale_etag_is_aborted():
    uow = FakeUnitOfWork()
    with pytest.raises(NotFound):
        preferences.get_preferences(STRANGER, OWNER, uow)
    saved = update(uow, Preferences(OWNER, rules=(Rule("big_deal", (channels.EMAIL,)),)))
    assert saved.etag == 1
    with pytest.raises(Aborted):
        update(uow, Preferences(OWNER), etag="0")
    assert update(uow, Preferences(OWNER), etag="1").etag == 2


def test_only_the_head_above_or_operators_manage_a_departments_robots():
    uow = org(FakeUnitOfWork())
    robot = DepartmentRobot("", TEAM, Robot(channels.DINGTALK, "https://oapi.example/robot/send?access_token=t", "s"),
                            ("big_deal",))
    with pytest.raises(PermissionDenied):
        robots.create_robot(OWNER, robot, uow, RULES, T0)
    for caller in (HEAD, BIGHEAD, OPS):
        robots.create_robot(caller, robot, uow, RULES, T0)
    assert len(robots.list_robots(HEAD, TEAM, uow)) == 3
    with pytest.raises(InvalidArgument) as exc:
        robots.create_robot(HEAD, DepartmentRobot("", TEAM, robot.robot, ("nope",)), uow, RULES, T0)
    assert [v.field for v in exc.value.violations] == ["robot.notice_types[0]"]


# --- reminders ---------------------------------------------------------------------------------------

def test_reminders_fire_when_due_once_and_stop_when_something_is_recorded():
    from notify.domain import reminders as r

    uow = org(FakeUnitOfWork())
    cadence = r.follow_ups(ids=["a", "b", "c"], subject=DEAL, recipient_id=OWNER, title="智能仓储", start=T0,
                           days=(1, 3, 7), tz=TZ)
    notices.handle_event(event(1), uow, EventEffects(reminders=cadence), "e1", RULES, T0)
    clock = Clock(T0)
    assert reminders.fire_due(uow, RULES, clock()) == 0
    clock.now = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)  # 09:00 on day 1 in Shanghai
    assert reminders.fire_due(uow, RULES, clock()) == 1
    assert reminders.fire_due(uow, RULES, clock()) == 0
    [n] = uow.notifications.of(OWNER)
    assert n.title == "请跟进：智能仓储" and "1 天" in n.body
    notices.handle_event(event(2), uow, EventEffects(stops=[(DEAL, (r.FOLLOW_UP,))]), "e2", RULES, clock())
    clock.advance(days=10)
    assert reminders.fire_due(uow, RULES, clock()) == 0
    assert uow.reminders.states(DEAL) == [(r.FOLLOW_UP, "CANCELLED"), (r.FOLLOW_UP, "CANCELLED"),
                                             (r.FOLLOW_UP, "FIRED")]


def test_a_stalled_escalation_goes_to_the_owners_head_when_due():
    from notify.domain import reminders as r

    uow = org(FakeUnitOfWork())
    esc = r.stalled_escalation(id="s", deal=DEAL, owner_id=OWNER, facts={**FACTS, "owner": f"users/{OWNER}"},
                               now=T0, delay=timedelta(hours=48))
    notices.handle_event(event(1), uow, EventEffects(reminders=[esc]), "e1", RULES, T0)
    reminders.fire_due(uow, RULES, T0 + timedelta(hours=47))
    assert uow.notifications.of(HEAD) == []
    reminders.fire_due(uow, RULES, T0 + timedelta(hours=48))
    [n] = uow.notifications.of(HEAD)
    assert n.title == "下属商机停滞未处理：智能仓储" and uow.notifications.of(OWNER) == []


def test_a_reassigned_deals_reminders_follow_it_and_its_escalation_goes_to_the_new_owners_head():
    from notify.domain import reminders as r
    from notify.service_layer.notices import ReminderMove

    uow = org(FakeUnitOfWork())
    esc = r.stalled_escalation(id="s", deal=DEAL, owner_id=OWNER, facts={**FACTS, "owner": f"users/{OWNER}"},
                               now=T0, delay=timedelta(hours=48))
    task = r.task_reminders(ids=["t1", "t2"], task=f"{DEAL}/tasks/t", assignee_id=OWNER, due=T0.date(),
                            facts={"task_title": "准备方案"}, tz=TZ)
    # The new owner already has this one (the once key): it is not made twice.
    theirs = replace(task[1], id="t3", recipient_id=HEAD)
    notices.handle_event(event(1), uow, EventEffects(reminders=[esc, *task, theirs]), "e1", RULES, T0)
    notices.handle_event(event(2), uow, EventEffects(moves=[ReminderMove(DEAL, OWNER, HEAD, T0)]), "e2", RULES, T0)
    reminders.fire_due(uow, RULES, T0 + timedelta(days=3))
    # Once each: the moved due-day reminder and the new owner's own overdue one (the previous owner's twin cancelled).
    assert sorted(n.title for n in uow.notifications.of(HEAD)) == ["任务今天到期：准备方案", "任务已逾期：准备方案"]
    assert uow.notifications.of(OWNER) == []
    [n] = uow.notifications.of(BIGHEAD)
    assert n.title == "下属商机停滞未处理：智能仓储"


def test_reassignments_arriving_out_of_order_leave_the_reminders_with_the_latest_owner():
    """OWNER -> HEAD at T0, then HEAD -> BIGHEAD an hour later, delivered the other way round: the reminders end with
    BIGHEAD, the deal's owner, not with HEAD, whom the late event names."""
    from notify.domain import reminders as r
    from notify.service_layer.notices import ReminderMove

    uow = org(FakeUnitOfWork())
    follow_ups = r.follow_ups(ids=["f1", "f2"], subject=DEAL, recipient_id=OWNER, title="智能仓储", start=T0,
                              days=(1, 3), tz=TZ)
    notices.handle_event(event(1), uow, EventEffects(reminders=follow_ups), "e1", RULES, T0)
    later = T0 + timedelta(hours=1)
    notices.handle_event(event(3), uow, EventEffects(moves=[ReminderMove(DEAL, HEAD, BIGHEAD, later)]), "e3",
                         RULES, later)
    notices.handle_event(event(2), uow, EventEffects(moves=[ReminderMove(DEAL, OWNER, HEAD, T0)]), "e2", RULES, later)
    reminders.fire_due(uow, RULES, T0 + timedelta(days=4))
    assert len(uow.notifications.of(BIGHEAD)) == 2
    assert uow.notifications.of(HEAD) == [] and uow.notifications.of(OWNER) == []


@pytest.mark.parametrize(("locale", "expected"), [("zh-CN", "，原因：区域调整。"), ("zh-TW", "，原因：区域调整。"),
                                                  ("en", " (reason: 区域调整).")])
def test_a_reassignment_is_worded_with_its_reason_only_when_given(locale, expected):
    facts = {**FACTS, "actor": "users/m", "new_owner": "users/n"}
    for kind in ("opportunity_reassigned_to_you", "opportunity_reassigned_away"):
        assert expected in RULES.catalogue.word(kind, {**facts, "reason": "区域调整"}, locale).body
        plain = RULES.catalogue.word(kind, facts, locale).body
        assert "区域调整" not in plain and "{" not in plain
