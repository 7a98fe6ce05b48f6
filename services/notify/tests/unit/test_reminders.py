"""Every event notify listens to, read into a notice and worded by its template: no I/O."""

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf import json_format

from notify.domain import model
from notify.entrypoints import inbound as protomap
from shangji.leads.v1 import events_pb2 as leads_events
from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import events_pb2 as opp_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji.samples.v1 import events_pb2 as sample_events
from shangji.samples.v1 import samples_pb2
from shangji_kit import envelope
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument

OWNER, BOSS, BIGBOSS, REQUESTER = (f"{n}1111111-1111-4111-8111-111111111111" for n in "1234")
DEAL, LEAD, SAMPLE = (f"{n}3333333-3333-4333-8333-333333333333" for n in "345")
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

deal = opportunities_pb2.Opportunity(
    name=f"opportunities/{DEAL}", id=DEAL, title="智能仓储系统", customer_company="华东精密", owner=f"users/{OWNER}",
    registrant=f"users/{OWNER}", stage_display_name="需求分析", amount="5000000.00", currency="CNY",
    expected_close_date="2026-11-30")
lead = leads_pb2.Lead(name=f"leads/{LEAD}", company="苏州凯达", contact_name="李工", owner=f"users/{OWNER}")
sample = samples_pb2.SampleRequest(
    name=f"sampleRequests/{SAMPLE}", customer_company="华东精密", requester=f"users/{REQUESTER}", total_quantity=12,
    estimated_cost="3600.00", currency="CNY")
recycle_at = leads_events.LeadRecycleWarning(lead=lead, rule="NO_FOLLOW_UP")
recycle_at.recycle_time.FromDatetime(NOW + timedelta(days=2))

REASSIGNED = opp_events.OpportunityReassigned(opportunity=deal, previous_owner=f"users/{BOSS}",
                                             new_owner=f"users/{OWNER}", actor=f"users/{BIGBOSS}", reason="客户要求")

# (read function, event message) for every event type notify subscribes to.
CASES = {
    "close_date_approaching": (protomap.close_date_approaching_from_event, opp_events.OpportunityCloseDateApproaching(
        opportunity=deal, expected_close_date="2026-11-30", days_left=5)),
    "close_date_passed": (protomap.close_date_passed_from_event, opp_events.OpportunityCloseDatePassed(
        opportunity=deal, expected_close_date="2026-11-20", days_overdue=5)),
    "stalled": (protomap.stalled_from_event, opp_events.OpportunityStalled(
        opportunity=deal, stage="analysis", max_days=14, days_in_stage=20)),
    "big_deal": (protomap.big_deal_from_event, opp_events.OpportunityBigDeal(
        opportunity=deal, amount="5000000.00", threshold="1000000", managers=[f"users/{BOSS}", f"users/{BIGBOSS}"])),
    "registration_queued": (protomap.registration_queued_from_event, opp_events.OpportunityRegistrationQueued(
        opportunity=deal, holder=f"users/{BOSS}")),
    "registration_arbitrated": (protomap.registration_arbitrated_from_event,
                                opp_events.OpportunityRegistrationArbitrated(
                                    opportunity=deal, decision="REJECT", arbiter=f"users/{BOSS}",
                                    note="客户已有人跟进")),
    "lead_assigned": (protomap.lead_assigned_from_event, leads_events.LeadAssigned(lead=lead)),
    "lead_recycle_warning": (protomap.lead_recycle_warning_from_event, recycle_at),
    "lead_recycled": (protomap.lead_recycled_from_event, leads_events.LeadRecycled(
        lead=leads_pb2.Lead(name=f"leads/{LEAD}", company="苏州凯达"), previous_owner=f"users/{OWNER}",
        rule="UNCONVERTED")),
    "task_assigned": (protomap.task_created_from_event, opp_events.TaskCreated(
        task=opportunities_pb2.Task(name=f"opportunities/{DEAL}/tasks/t1", title="准备方案演示", due_date="2026-12-01",
                                    assignee=f"users/{BOSS}", creator=f"users/{OWNER}",
                                    opportunity=f"opportunities/{DEAL}"),
        opportunity_title="智能仓储系统")),
    "sample_approval_requested": (protomap.sample_approval_requested_from_event, sample_events.SampleApprovalRequested(
        request=sample, tier="sales_director", approver=f"users/{BOSS}")),
    "sample_approved": (protomap.sample_approved_from_event, sample_events.SampleRequestApproved(
        request=sample, approver=f"users/{BOSS}")),
    "sample_rejected": (protomap.sample_rejected_from_event, sample_events.SampleRequestRejected(
        request=sample, approver=f"users/{BOSS}", comment="数量过多")),
    "sample_feedback_assigned": (protomap.sample_feedback_from_event, sample_events.SampleFeedbackRaised(
        request=sample, feedback="sampleRequests/s1/feedback/f1", summary="高温下读数漂移", assignee=f"users/{BOSS}")),
    "sample_feedback_raised": (lambda env: protomap.sample_feedback_effects(env).notices[1],
                               sample_events.SampleFeedbackRaised(
                                   request=samples_pb2.SampleRequest(name=sample.name, customer_company="华东精密",
                                                                     requester=sample.requester,
                                                                     owner=f"users/{OWNER}"),
                                   feedback="sampleRequests/s1/feedback/f1", summary="高温下读数漂移",
                                   assignee=f"users/{BOSS}")),
    "opportunity_reassigned_to_you": (lambda env: protomap.reassigned_effects(env).notices[0], REASSIGNED),
    "opportunity_reassigned_away": (lambda env: protomap.reassigned_effects(env).notices[1], REASSIGNED),
    "sample_request_moved_to_you": (protomap.sample_owner_changed_from_event, sample_events.SampleRequestOwnerChanged(
        request=sample, previous_owner=f"users/{REQUESTER}", new_owner=f"users/{OWNER}", cause="reassign")),
}


def env_of(message) -> Envelope:
    type_ = message.DESCRIPTOR.full_name
    return Envelope.parse(envelope.build(
        service=type_.split(".")[1], id="e1", type=type_, subject="s", time=NOW, dataschema=f"proto:{type_}",
        data=json_format.MessageToDict(message), correlation_id=None))


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_event_reads_into_its_template_which_words_it_fully(kind):
    read, message = CASES[kind]
    request = read(env_of(message))
    assert request.kind == kind
    title, body = model.compose(request.kind, request.facts)
    assert title and body and "{" not in title + body


# Notice types of the reminders, escalations and arbiters: tests/integration/test_right_person.py makes each.
RIGHT_PERSON = {"unassigned_deal", "follow_up_reminder", "close_date_overdue_escalation", "stalled_escalation",
                "registration_arbitration_requested", "lead_created_for_you", "task_due", "task_overdue"}


def test_every_template_has_an_event_that_uses_it():
    assert set(model.TEMPLATES) == set(CASES) | {"opportunity_registered", "team_member_added"} | RIGHT_PERSON


def test_a_big_deal_escalates_to_the_owner_then_each_manager():
    request = protomap.big_deal_from_event(env_of(CASES["big_deal"][1]))
    assert request.recipients == [OWNER, BOSS, BIGBOSS]
    title, body = model.compose(request.kind, request.facts)
    assert title == "大额商机：智能仓储系统" and "5000000.00 CNY" in body and "1000000" in body


def test_recipients_follow_the_event_who_must_act():
    def who(kind):
        read, message = CASES[kind]
        return read(env_of(message)).recipients

    assert who("sample_approval_requested") == [BOSS]
    assert who("sample_rejected") == [REQUESTER] and who("sample_approved") == [REQUESTER]
    assert who("lead_recycled") == [OWNER] and who("lead_recycle_warning") == [OWNER]
    assert who("sample_feedback_assigned") == [BOSS]
    assert who("sample_feedback_raised") == [OWNER]
    assert who("opportunity_reassigned_to_you") == [OWNER] and who("opportunity_reassigned_away") == [BOSS]
    assert who("sample_request_moved_to_you") == [OWNER]


def test_sample_notices_go_to_the_requests_owner_before_its_requester():
    moved = samples_pb2.SampleRequest()
    moved.CopyFrom(sample)
    moved.owner = f"users/{OWNER}"
    approved = protomap.sample_approved_from_event(env_of(sample_events.SampleRequestApproved(request=moved)))
    rejected = protomap.sample_rejected_from_event(env_of(sample_events.SampleRequestRejected(
        request=moved, approver=f"users/{BOSS}", comment="数量过多")))
    assert approved.recipients == rejected.recipients == [OWNER, REQUESTER]
    moved.owner = f"users/{REQUESTER}"  # not moved yet: the owner is the requester, told once
    approved = protomap.sample_approved_from_event(env_of(sample_events.SampleRequestApproved(request=moved)))
    assert approved.recipients == [REQUESTER]


def test_the_recycle_warning_names_the_rule_and_the_time_in_china():
    read, message = CASES["lead_recycle_warning"]
    _, body = model.compose("lead_recycle_warning", read(env_of(message)).facts)
    assert "长期未跟进" in body and "2026-11-27 16:00" in body


def test_a_rejected_registration_reads_as_rejected_with_the_note():
    read, message = CASES["registration_arbitrated"]
    _, body = model.compose("registration_arbitrated", read(env_of(message)).facts)
    assert "驳回" in body and "客户已有人跟进" in body


def test_an_approval_request_without_an_approver_is_rejected():
    with pytest.raises(InvalidArgument) as exc:
        protomap.sample_approval_requested_from_event(env_of(sample_events.SampleApprovalRequested(request=sample)))
    assert exc.value.violations[0].field == "approver"


def test_one_notice_per_distinct_recipient():
    made = model.notices(ids=["a", "b", "c"], kind="big_deal", recipients=["u1", "u2", "u1", ""],
                         subject="opportunities/o", facts={"title": "t", "customer_company": "c", "amount": "1",
                                                           "currency": "CNY", "threshold": "0"}, now=NOW)
    assert [n.recipient_id for n in made] == ["u1", "u2"]


def test_a_task_you_gave_yourself_notifies_nobody():
    own = opp_events.TaskCreated(task=opportunities_pb2.Task(
        title="t", due_date="2026-12-01", assignee=f"users/{OWNER}", creator=f"users/{OWNER}",
        opportunity=f"opportunities/{DEAL}"))
    assert protomap.task_created_from_event(env_of(own)).recipients == []
    read, message = CASES["task_assigned"]
    assert read(env_of(message)).recipients == [BOSS]
