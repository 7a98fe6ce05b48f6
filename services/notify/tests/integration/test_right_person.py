"""The right person at the right time, through the worker's handlers and the reminder loop's use case on the
session's real notify database; time moves on a hand-held clock, in the company's zone (Asia/Shanghai)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from google.protobuf import json_format

from notify.service_layer import reminders
from shangji.leads.v1 import events_pb2 as leads_events
from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import events_pb2 as opp_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit import company_time, envelope

TZ = company_time.zone()


def env_of(message, at: datetime | None = None) -> dict:
    type_ = message.DESCRIPTOR.full_name
    return envelope.build(service=type_.split(".")[1], id=str(uuid.uuid4()), type=type_, subject="s",
                          time=at or datetime.now(UTC), dataschema=f"proto:{type_}",
                          data=json_format.MessageToDict(message), correlation_id=None)


def deal(owner: str, **kw) -> opportunities_pb2.Opportunity:
    deal_id = str(uuid.uuid4())
    return opportunities_pb2.Opportunity(name=f"opportunities/{deal_id}", id=deal_id, title="智慧园区",
                                         owner=f"users/{owner}" if owner else "",
                                         registrant=f"users/{owner or uuid.uuid4()}",
                                         customer_company="浙江远大", stage_display_name="需求分析",
                                         expected_close_date="2026-11-20", **kw)


@pytest.fixture
def titles(scalar):
    """``titles(user)``: the titles of the user's notices, oldest first."""
    def read(user: str) -> list[str]:
        return scalar("SELECT coalesce(json_agg(title ORDER BY create_time), '[]') FROM notifications"
                      " WHERE recipient_id = :r", r=user)

    return read


@pytest.fixture
def fire(uow_factory, rules):
    """``fire(at)``: the reminder loop's rounds at ``at`` until nothing more is due."""
    def run(at: datetime) -> None:
        while reminders.fire_due(uow_factory(), rules, at):
            pass

    return run


def at_nine(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=TZ).astimezone(UTC)


def test_follow_ups_come_on_days_1_3_and_7_until_an_activity_is_recorded(worker, fire, titles):
    owner = str(uuid.uuid4())
    registered = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai on 1 December
    d = deal(owner)
    d.create_time.FromDatetime(registered)
    worker.on_opportunity_registered(env_of(opp_events.OpportunityRegistered(opportunity=d), registered))
    fire(at_nine(date(2026, 12, 2)) - timedelta(minutes=1))
    assert titles(owner) == ["新商机已登记：智慧园区"]
    fire(at_nine(date(2026, 12, 2)))
    fire(at_nine(date(2026, 12, 2)))
    assert sorted(titles(owner)) == ["新商机已登记：智慧园区", "请跟进：智慧园区"]
    fire(at_nine(date(2026, 12, 4)))
    assert titles(owner).count("请跟进：智慧园区") == 2
    worker.on_activity_recorded(env_of(opp_events.ActivityRecorded(
        opportunity=d.name, owner=d.owner, activity=opportunities_pb2.Activity(kind="call"))))
    fire(at_nine(date(2026, 12, 9)))
    assert titles(owner).count("请跟进：智慧园区") == 2


def test_a_claimed_lead_gets_follow_ups_until_a_follow_up_is_added(worker, fire, titles):
    owner = str(uuid.uuid4())
    lead = leads_pb2.Lead(name=f"leads/{uuid.uuid4()}", company="苏州凯达", contact_name="李工", owner=f"users/{owner}")
    claimed = leads_events.LeadClaimed(lead=lead)
    claimed.claim_time.FromDatetime(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    worker.on_lead_claimed(env_of(claimed))
    fire(at_nine(date(2026, 12, 2)))
    assert titles(owner) == ["请跟进：苏州凯达"]
    worker.on_follow_up_added(env_of(leads_events.FollowUpAdded(lead=lead)))
    fire(at_nine(date(2026, 12, 9)))
    assert titles(owner) == ["请跟进：苏州凯达"]


def test_a_task_reminds_its_assignee_when_due_and_when_overdue_unless_completed(worker, fire, titles):
    assignee, creator = str(uuid.uuid4()), str(uuid.uuid4())
    d = deal(creator)

    def task(due: str) -> opportunities_pb2.Task:
        return opportunities_pb2.Task(name=f"{d.name}/tasks/{uuid.uuid4()}", title="准备方案", due_date=due,
                                      assignee=f"users/{assignee}", creator=f"users/{creator}", opportunity=d.name)

    open_task, done_task = task("2026-12-10"), task("2026-12-11")
    for t in (open_task, done_task):
        worker.on_task_created(env_of(opp_events.TaskCreated(task=t, opportunity_title="智慧园区")))
    fire(at_nine(date(2026, 12, 10)))
    assert sorted(titles(assignee)) == ["任务今天到期：准备方案", "新任务：准备方案", "新任务：准备方案"]
    worker.on_task_completed(env_of(opp_events.TaskCompleted(task=done_task, actor=f"users/{assignee}")))
    fire(at_nine(date(2026, 12, 13)))
    assert sorted(titles(assignee)) == sorted(["任务已逾期：准备方案", "任务今天到期：准备方案", "新任务：准备方案",
                                               "新任务：准备方案"])


def test_a_stalled_deal_goes_to_the_owner_then_the_head_unless_it_moves(worker, org, fire, titles, rules):
    head, owner, other_owner = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    team = org.department(head=head)
    for u in (head, owner, other_owner):
        org.user(u, department=team)
    now = datetime.now(UTC)
    stuck, moved = deal(owner), deal(other_owner)
    for d in (stuck, moved):
        event = opp_events.OpportunityStalled(opportunity=d, stage="analysis", max_days=14, days_in_stage=20)
        event.detect_time.FromDatetime(now)
        worker.on_stalled(env_of(event))
    worker.on_stage_changed(env_of(opp_events.OpportunityStageChanged(opportunity=moved, from_stage="analysis",
                                                                      to_stage="proposal")))
    assert titles(owner) == ["商机停滞：智慧园区"] and titles(head) == []
    fire(now + rules.stalled_escalation - timedelta(minutes=1))
    assert titles(head) == []
    fire(now + rules.stalled_escalation)
    assert titles(head) == ["下属商机停滞未处理：智慧园区"]  # one: the moved deal's escalation was stopped


def test_a_queued_registration_asks_the_holders_head_to_arbitrate(worker, org, titles):
    head, holder, registrant, ops = (str(uuid.uuid4()) for _ in range(4))
    team = org.department(head=head)
    org.user(head, department=team)
    org.user(holder, department=team)
    org.user(ops, roles=("sales_ops",))
    worker.on_registration_queued(env_of(opp_events.OpportunityRegistrationQueued(
        opportunity=deal(registrant), holder=f"users/{holder}")))
    assert titles(registrant) == ["报备撞单，等待仲裁：智慧园区"]
    assert titles(head) == ["报备待你仲裁：智慧园区"] and titles(ops) == []


def test_without_a_head_the_routing_queues_leaders_arbitrate_and_take_unassigned_deals(worker, org, titles):
    holder, registrant, ops = (str(uuid.uuid4()) for _ in range(3))
    org.user(holder)
    org.user(ops, roles=("sales_ops",))
    worker.on_registration_queued(env_of(opp_events.OpportunityRegistrationQueued(
        opportunity=deal(registrant), holder=f"users/{holder}")))
    assert titles(ops) == ["报备待你仲裁：智慧园区"]
    worker.on_opportunity_registered(env_of(opp_events.OpportunityRegistered(
        opportunity=deal("", registration_state=opportunities_pb2.Opportunity.UNASSIGNED))))
    assert titles(ops)[-1] == "待分配商机：智慧园区"


def test_a_close_date_long_passed_also_tells_the_manager(worker, org, titles, rules):
    head, owner = str(uuid.uuid4()), str(uuid.uuid4())
    team = org.department(head=head)
    org.user(head, department=team)
    org.user(owner, department=team)
    n = rules.overdue_escalation_days
    worker.on_close_date_passed(env_of(opp_events.OpportunityCloseDatePassed(
        opportunity=deal(owner), expected_close_date="2026-11-20", days_overdue=n)))
    assert titles(head) == []
    worker.on_close_date_passed(env_of(opp_events.OpportunityCloseDatePassed(
        opportunity=deal(owner), expected_close_date="2026-11-20", days_overdue=n + 1)))
    assert titles(owner) == ["商机已过预计成交日期：智慧园区"] * 2
    assert titles(head) == ["下属商机逾期未成交：智慧园区"]


def test_a_lead_imported_or_entered_for_someone_tells_its_owner_not_a_lead_of_ones_own(worker, titles, scalar):
    owner, colleague = str(uuid.uuid4()), str(uuid.uuid4())

    def created(created_by: str, imported: bool) -> str:
        lead = leads_pb2.Lead(name=f"leads/{uuid.uuid4()}", company="苏州凯达", contact_name="李工",
                              owner=f"users/{owner}")
        body = env_of(leads_events.LeadCreated(lead=lead, created_by=created_by, imported=imported))
        worker.on_lead_created(body)
        return body["id"]

    own = [created(f"users/{owner}", False), created("", False)]  # the second: a producer that does not say who
    assert titles(owner) == []
    # An event that causes nothing here leaves no trace either: no inbox row, no transaction.
    assert scalar("SELECT count(*) FROM inbox WHERE event_id = ANY(:e)", e=own) == 0
    created(f"users/{colleague}", False)
    created("", True)
    assert titles(owner) == ["新线索归你跟进：苏州凯达"] * 2
    bodies = scalar("SELECT json_agg(body ORDER BY create_time) FROM notifications WHERE recipient_id = :r", r=owner)
    assert f"由 users/{colleague} 录入" in bodies[0] and "由导入创建" in bodies[1]


def test_a_department_robot_gets_the_team_wide_notices_it_asked_for(worker, org, uow_factory, robots, rules, clock,
                                                                   titles):
    from notify import bootstrap
    from notify.domain import channels
    from notify.domain.preferences import DepartmentRobot, Robot
    from notify.service_layer import delivery
    from notify.service_layer import robots as robot_cases

    head, owner = str(uuid.uuid4()), str(uuid.uuid4())
    team = org.department(head=head)
    org.user(head, department=team)
    org.user(owner, department=team)
    robot_cases.create_robot(head, DepartmentRobot("", team, Robot(channels.WECOM, robots.wecom("team")),
                                                   ("big_deal",)), uow_factory(), rules, clock())
    worker.on_big_deal(env_of(opp_events.OpportunityBigDeal(opportunity=deal(owner), amount="3000000",
                                                            threshold="1000000")))
    worker.on_stalled(env_of(opp_events.OpportunityStalled(opportunity=deal(owner), max_days=1, days_in_stage=2)))
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    delivery.deliver_due(channels.WECOM, bootstrap.senders()[channels.WECOM], uow_factory(), rules, clock)
    [message] = robots.messages("wecom:team")
    assert message["markdown"]["content"].startswith("**大额商机：智慧园区**")


def test_quiet_hours_and_the_digest_on_a_controllable_clock(worker, opportunity_registered, uow_factory, rules, clock,
                                                            robots, scalar):
    from notify import bootstrap
    from notify.domain import channels
    from notify.domain.preferences import Preferences, Robot, Rule
    from notify.service_layer import delivery, preferences

    quiet, digest = str(uuid.uuid4()), str(uuid.uuid4())
    local = datetime.now(TZ)
    start, end = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0), \
        (local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    hook = Robot(channels.WEBHOOK, robots.webhook("q", "s"), "s")
    for user, rule, extra in ((quiet, Rule("opportunity_registered", (channels.WEBHOOK,)),
                               {"quiet_start": start, "quiet_end": end}),
                              (digest, Rule("opportunity_registered", (channels.WEBHOOK,), digest=True),
                               {"digest_time": end})):
        p = Preferences(user, robots=(hook,), rules=(rule,), **extra)
        preferences.update_preferences(user, user, p, {"robots", "rules", *extra}, "", {}, uow_factory(), rules,
                                       clock())
    for user in (quiet, quiet, digest, digest, digest):
        worker.on_opportunity_registered(opportunity_registered(owner=user))
    sender = bootstrap.senders()[channels.WEBHOOK]
    clock.now = datetime.now(UTC)  # the events were stored at the real time; now they are all due
    delivery.deliver_due(channels.WEBHOOK, sender, uow_factory(), rules, clock)
    assert robots.messages("webhook:q") == []  # quiet, and the digest is not due
    clock.now = datetime.combine(local.date() + (timedelta(days=1) if end < start else timedelta()), end,
                                 tzinfo=TZ).astimezone(UTC)
    while delivery.deliver_due(channels.WEBHOOK, sender, uow_factory(), rules, clock):
        pass
    got = robots.messages("webhook:q")
    assert sorted(m["title"] for m in got) == ["今日通知汇总（3 条）", "新商机已登记：智能仓储系统二期",
                                               "新商机已登记：智能仓储系统二期"]
    assert scalar("SELECT count(*) FROM deliveries WHERE recipient IN (:a, :b) AND state = 'SENT'",
                  a=f"users/{quiet}", b=f"users/{digest}") == 5
