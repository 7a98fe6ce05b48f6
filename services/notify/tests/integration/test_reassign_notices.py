"""A deal given to another rep (opportunities' OpportunityReassigned) and a sample request that followed it (samples'
SampleRequestOwnerChanged): who is told, in what words, once, on which channels, and the reminders that change hands;
envelopes as the relays publish them, through the worker's handlers on the session's real notify database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

import pytest

from notify.domain import channels
from notify.domain.preferences import Preferences, Rule
from notify.service_layer import preferences, reminders
from shangji.opportunities.v1 import events_pb2 as opp_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji.samples.v1 import events_pb2 as sample_events
from shangji.samples.v1 import samples_pb2
from shangji_kit import company_time
from shangji_kit.errors import InvalidArgument
from shangji_kit.testing import envelopes

TO_YOU, AWAY = "商机转给你：智慧园区", "商机已转出：智慧园区"


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def _deal(owner: str) -> opportunities_pb2.Opportunity:
    deal_id = str(uuid.uuid4())
    return opportunities_pb2.Opportunity(name=f"opportunities/{deal_id}", id=deal_id, title="智慧园区",
                                         owner=f"users/{owner}", registrant=f"users/{owner}",
                                         customer_company="浙江远大", stage_display_name="需求分析")


def _reassigned(deal: opportunities_pb2.Opportunity, previous: str, new: str, actor: str, reason: str = "",
                at: datetime | None = None) -> dict:
    moved = opportunities_pb2.Opportunity()
    moved.CopyFrom(deal)
    moved.owner = f"users/{new}"
    event = opp_events.OpportunityReassigned(opportunity=moved, previous_owner=f"users/{previous}",
                                             new_owner=f"users/{new}", actor=f"users/{actor}", reason=reason)
    if at is not None:
        event.change_time.FromDatetime(at)
    return envelopes.published("opportunities", event, subject=deal.name)


def _notices(scalar, user: str) -> list[list[str]]:
    return scalar("SELECT coalesce(json_agg(json_build_array(title, body, notice_type, subject) ORDER BY title),"
                  " '[]') FROM notifications WHERE recipient_id = :r", r=user)


def test_the_new_owner_and_the_previous_owner_are_each_told_once(worker, scalar):
    previous, new, manager, bystander = _ids(4)
    deal = _deal(previous)
    body = _reassigned(deal, previous, new, manager, reason="客户要求换人对接")
    worker.on_opportunity_reassigned(body)
    worker.on_opportunity_reassigned(body)  # redelivered: nobody is told twice

    [(title, text, kind, subject)] = _notices(scalar, new)
    assert (title, kind, subject) == (TO_YOU, "opportunity_reassigned_to_you", deal.name)
    assert f"商机“智慧园区”（客户“浙江远大”）已由 users/{manager} 转给你，原因：客户要求换人对接。" in text
    assert "未完成的任务" in text
    [(title, text, kind, subject)] = _notices(scalar, previous)
    assert (title, kind, subject) == (AWAY, "opportunity_reassigned_away", deal.name)
    assert f"已由 users/{manager} 转给 users/{new}，原因：客户要求换人对接。" in text
    assert _notices(scalar, manager) == _notices(scalar, bystander) == []
    assert scalar("SELECT count(*) FROM notifications WHERE source_event_id = :e", e=body["id"]) == 2
    assert scalar("SELECT consumer FROM inbox WHERE event_id = :e", e=body["id"]) == "notify.on_opportunity_reassigned"


def test_without_a_reason_the_sentence_just_ends(worker, scalar):
    previous, new, manager = _ids(3)
    worker.on_opportunity_reassigned(_reassigned(_deal(previous), previous, new, manager))
    [(_, text, _, _)] = _notices(scalar, new)
    assert f"已由 users/{manager} 转给你。" in text and "原因" not in text and "{" not in text
    [(_, text, _, _)] = _notices(scalar, previous)
    assert text.startswith("你负责的商机“智慧园区”") and f"转给 users/{new}。" in text and "原因" not in text


def test_the_owners_other_channels_follow_their_preferences(worker, scalar, uow_factory, rules, clock):
    previous, new, manager = _ids(3)
    for user, kind in ((new, "opportunity_reassigned_to_you"), (previous, "opportunity_reassigned_away")):
        preferences.update_preferences(user, user, Preferences(user, rules=(Rule(kind, (channels.EMAIL,)),)),
                                       {"rules"}, "", {}, uow_factory(), rules, clock())
    body = _reassigned(_deal(previous), previous, new, manager, reason="区域调整")
    worker.on_opportunity_reassigned(body)
    worker.on_opportunity_reassigned(body)
    rows = scalar("SELECT json_agg(json_build_array(recipient, channel, notice_type) ORDER BY notice_type)"
                  " FROM deliveries WHERE source_event_id = :e", e=body["id"])
    assert rows == [[f"users/{previous}", "EMAIL", "opportunity_reassigned_away"],
                    [f"users/{new}", "EMAIL", "opportunity_reassigned_to_you"]]


def test_the_moved_tasks_and_the_deals_follow_ups_remind_the_new_owner(worker, scalar, uow_factory, rules):
    previous, new, manager, colleague = _ids(4)
    deal = _deal(previous)
    registered = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    deal.create_time.FromDatetime(registered)
    worker.on_opportunity_registered(envelopes.published("opportunities", opp_events.OpportunityRegistered(
        opportunity=deal), time=registered))

    def task(assignee: str) -> opportunities_pb2.Task:
        return opportunities_pb2.Task(name=f"{deal.name}/tasks/{uuid.uuid4()}", title="准备方案", due_date="2026-12-10",
                                      assignee=f"users/{assignee}", creator=f"users/{manager}", opportunity=deal.name)

    for t in (task(previous), task(colleague)):
        worker.on_task_created(envelopes.published("opportunities", opp_events.TaskCreated(
            task=t, opportunity_title="智慧园区")))
    worker.on_opportunity_reassigned(_reassigned(deal, previous, new, manager))

    due = datetime.combine(date(2026, 12, 10), time(9, 0), tzinfo=company_time.zone()).astimezone(UTC)
    while reminders.fire_due(uow_factory(), rules, due):
        pass

    def titles(user: str) -> list[str]:
        return sorted(n[0] for n in _notices(scalar, user))

    # The follow-ups of days 1, 3 and 7 and the moved task's due day reach the new owner, not the previous one.
    assert titles(new) == sorted(["任务今天到期：准备方案", TO_YOU, *["请跟进：智慧园区"] * 3])
    assert titles(previous) == sorted([AWAY, "新商机已登记：智慧园区", "新任务：准备方案"])
    # A team member's task on the deal stays theirs: it did not move with the deal.
    assert titles(colleague) == sorted(["任务今天到期：准备方案", "新任务：准备方案"])


def test_reassignments_delivered_out_of_order_leave_the_follow_ups_with_the_deals_owner(worker, scalar, uow_factory,
                                                                                        rules):
    first, second, third, manager = _ids(4)
    deal = _deal(first)
    registered = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    deal.create_time.FromDatetime(registered)
    worker.on_opportunity_registered(envelopes.published("opportunities", opp_events.OpportunityRegistered(
        opportunity=deal), time=registered))
    # first -> second at 03:00, second -> third at 04:00; the broker hands them over the other way round.
    worker.on_opportunity_reassigned(_reassigned(deal, second, third, manager,
                                                 at=datetime(2026, 12, 1, 4, 0, tzinfo=UTC)))
    worker.on_opportunity_reassigned(_reassigned(deal, first, second, manager,
                                                 at=datetime(2026, 12, 1, 3, 0, tzinfo=UTC)))

    due = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)
    while reminders.fire_due(uow_factory(), rules, due):
        pass
    follow_ups = {user: sum(n[0] == "请跟进：智慧园区" for n in _notices(scalar, user))
                  for user in (first, second, third)}
    assert follow_ups == {first: 0, second: 0, third: 3}


@pytest.mark.parametrize(("field", "spoil"), [
    ("new_owner", lambda data: data.pop("newOwner")),
    ("previous_owner", lambda data: data.update(previousOwner="teams/1")),
    ("actor", lambda data: data.update(actor="")),
    ("opportunity.name", lambda data: data["opportunity"].update(name="leads/1")),
])
def test_a_malformed_reassignment_is_rejected_and_tells_nobody(worker, scalar, field, spoil):
    previous, new, manager = _ids(3)
    body = _reassigned(_deal(previous), previous, new, manager, reason="x")
    spoil(body["data"])
    with pytest.raises(InvalidArgument) as exc:
        worker.on_opportunity_reassigned(body)
    assert [v.field for v in exc.value.violations] == [field]
    assert scalar("SELECT count(*) FROM inbox WHERE event_id = :e", e=body["id"]) == 0
    assert scalar("SELECT count(*) FROM notifications WHERE source_event_id = :e", e=body["id"]) == 0


def _owner_changed(previous: str, new: str, cause: str = "reassign") -> dict:
    request = samples_pb2.SampleRequest(
        name=f"sampleRequests/{uuid.uuid4()}", opportunity=f"opportunities/{uuid.uuid4()}",
        customer_company="浙江远大", requester=f"users/{previous}", owner=f"users/{new}", total_quantity=4,
        estimated_cost="400.00", currency="CNY")
    return envelopes.published("samples", sample_events.SampleRequestOwnerChanged(
        request=request, previous_owner=f"users/{previous}", new_owner=f"users/{new}", cause=cause),
        subject=request.name)


@pytest.mark.parametrize("cause", ["reassign", "handover"])
def test_a_sample_request_that_followed_its_deal_is_announced_to_its_new_owner_once(worker, scalar, cause):
    previous, new = _ids(2)
    body = _owner_changed(previous, new, cause)
    worker.on_sample_owner_changed(body)
    worker.on_sample_owner_changed(body)
    [(title, text, kind, subject)] = _notices(scalar, new)
    assert (title, kind, subject) == ("样品申请随商机转给你", "sample_request_moved_to_you",
                                      body["data"]["request"]["name"])
    assert text == f"客户“浙江远大”的样品申请（users/{previous} 提交，共 4 件，预估 400.00 CNY）随商机转给你跟进。"
    assert _notices(scalar, previous) == []


def test_a_malformed_owner_change_is_rejected_and_tells_nobody(worker, scalar):
    previous, new = _ids(2)
    body = _owner_changed(previous, new)
    body["data"]["newOwner"] = "users/"
    with pytest.raises(InvalidArgument) as exc:
        worker.on_sample_owner_changed(body)
    assert [v.field for v in exc.value.violations] == ["new_owner"]
    assert scalar("SELECT count(*) FROM inbox WHERE event_id = :e", e=body["id"]) == 0
    assert scalar("SELECT count(*) FROM notifications WHERE recipient_id = :r", r=new) == 0
