"""Events read into what they cause (notices, reminders, stops): the entrypoint's inbound mapping, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf import json_format

from notify import templates
from notify.domain import reminders
from notify.domain.templates import Catalogue
from notify.entrypoints import inbound
from notify.service_layer.context import Rules
from shangji.leads.v1 import events_pb2 as leads_events
from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import events_pb2 as opp_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit import company_time, envelope
from shangji_kit.envelope import Envelope

OWNER, HOLDER, OTHER = (f"{n}1111111-1111-4111-8111-111111111111" for n in "123")
DEAL = "33333333-3333-4333-8333-333333333333"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
RULES = Rules(tz=company_time.zone("Asia/Shanghai"), catalogue=Catalogue(templates.load()),
              follow_up_days=(1, 3, 7), overdue_escalation_days=7, stalled_escalation=timedelta(hours=48))


def env_of(message) -> Envelope:
    type_ = message.DESCRIPTOR.full_name
    return Envelope.parse(envelope.build(
        service=type_.split(".")[1], id="e1", type=type_, subject="s", time=NOW, dataschema=f"proto:{type_}",
        data=json_format.MessageToDict(message), correlation_id=None))


def deal(owner: str = OWNER, **kw) -> opportunities_pb2.Opportunity:
    d = opportunities_pb2.Opportunity(name=f"opportunities/{DEAL}", id=DEAL, title="智慧园区",
                                      owner=f"users/{owner}" if owner else "", registrant=f"users/{OTHER}", **kw)
    d.create_time.FromDatetime(NOW)
    return d


def test_a_registered_deal_starts_the_follow_up_cadence_at_nine_on_days_1_3_and_7():
    effects = inbound.registration_effects(env_of(opp_events.OpportunityRegistered(opportunity=deal())), RULES)
    assert [n.kind for n in effects.notices] == ["opportunity_registered"]
    assert [(r.notice_type, r.recipient_id, r.subject) for r in effects.reminders] == [
        (reminders.FOLLOW_UP, OWNER, f"opportunities/{DEAL}")] * 3
    assert [r.due_time for r in effects.reminders] == [
        datetime(2026, 12, d, 1, 0, tzinfo=UTC) for d in (2, 4, 8)]


def test_an_unassigned_deal_goes_to_the_routing_role_and_starts_no_cadence():
    unassigned = deal("", registration_state=opportunities_pb2.Opportunity.UNASSIGNED)
    effects = inbound.registration_effects(env_of(opp_events.OpportunityRegistered(opportunity=unassigned)), RULES)
    [n] = effects.notices
    assert (n.kind, n.recipients, n.role_holders) == ("unassigned_deal", [], ("sales_ops",))
    assert effects.reminders == []


def test_a_close_date_passed_by_more_than_n_days_adds_the_managers_notice():
    def kinds(days: int) -> list[str]:
        event = opp_events.OpportunityCloseDatePassed(opportunity=deal(), days_overdue=days)
        return [n.kind for n in inbound.close_date_passed_effects(env_of(event), RULES).notices]

    assert kinds(7) == ["close_date_passed"]
    assert kinds(8) == ["close_date_passed", "close_date_overdue_escalation"]
    event = opp_events.OpportunityCloseDatePassed(opportunity=deal(), days_overdue=8)
    assert inbound.close_date_passed_effects(env_of(event), RULES).notices[1].managers_of == (OWNER,)


def test_a_stalled_deal_plans_its_escalation_after_the_delay():
    event = opp_events.OpportunityStalled(opportunity=deal(), max_days=14, days_in_stage=20)
    event.detect_time.FromDatetime(NOW)
    [escalation] = inbound.stalled_effects(env_of(event), RULES).reminders
    assert (escalation.notice_type, escalation.recipient_id, escalation.escalate, escalation.due_time) == (
        reminders.STALLED_ESCALATION, OWNER, True, NOW + timedelta(hours=48))


def test_a_queued_registration_asks_the_holders_manager_and_falls_back_to_the_routing_role():
    event = opp_events.OpportunityRegistrationQueued(opportunity=deal(), holder=f"users/{HOLDER}")
    queued, arbiters = inbound.registration_queued_effects(env_of(event), RULES).notices
    assert (queued.kind, queued.recipients) == ("registration_queued", [OWNER])
    assert (arbiters.kind, arbiters.managers_of, arbiters.role_holders, arbiters.roles_as_fallback) == (
        "registration_arbitration_requested", (HOLDER,), ("sales_ops",), True)


def test_a_task_given_to_oneself_is_not_announced_but_still_reminded():
    task = opportunities_pb2.Task(name=f"opportunities/{DEAL}/tasks/t1", title="方案", due_date="2026-12-10",
                                  assignee=f"users/{OWNER}", creator=f"users/{OWNER}",
                                  opportunity=f"opportunities/{DEAL}")
    effects = inbound.task_created_effects(env_of(opp_events.TaskCreated(task=task)), RULES)
    assert effects.notices == []
    assert [(r.notice_type, r.due_time) for r in effects.reminders] == [
        (reminders.TASK_DUE, datetime(2026, 12, 10, 1, 0, tzinfo=UTC)),
        (reminders.TASK_OVERDUE, datetime(2026, 12, 11, 1, 0, tzinfo=UTC))]
    done = inbound.task_completed_effects(env_of(opp_events.TaskCompleted(task=task)))
    assert done.stops == [(task.name, (reminders.TASK_DUE, reminders.TASK_OVERDUE))]


def test_a_lead_tells_its_owner_only_when_someone_else_or_an_import_made_it():
    lead = leads_pb2.Lead(name=f"leads/{DEAL}", company="苏州凯达", owner=f"users/{OWNER}")

    def told(**kw) -> bool:
        return bool(inbound.lead_created_effects(env_of(leads_events.LeadCreated(lead=lead, **kw))).notices)

    assert told(created_by=f"users/{OTHER}") and told(imported=True)
    assert not told(created_by=f"users/{OWNER}") and not told()


def test_moves_activities_and_follow_ups_stop_the_reminders_of_their_record():
    moved = inbound.deal_moved_effects(env_of(opp_events.OpportunityWon(opportunity=deal())), opp_events.OpportunityWon)
    assert moved.stops == [(f"opportunities/{DEAL}", (reminders.STALLED_ESCALATION, reminders.FOLLOW_UP))]
    activity = inbound.activity_recorded_effects(env_of(opp_events.ActivityRecorded(
        opportunity=f"opportunities/{DEAL}")))
    assert activity.stops == [(f"opportunities/{DEAL}", (reminders.FOLLOW_UP,))]
    lead = leads_pb2.Lead(name=f"leads/{DEAL}", company="苏州凯达", owner=f"users/{OWNER}")
    followed = inbound.lead_stop_effects(env_of(leads_events.FollowUpAdded(lead=lead)), leads_events.FollowUpAdded)
    assert followed.stops == [(f"leads/{DEAL}", (reminders.FOLLOW_UP,))]
