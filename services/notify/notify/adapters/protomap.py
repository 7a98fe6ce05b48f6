"""The one module that converts between notify's protos (and the events it consumes) and its domain."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp

from notify.domain import model
from notify.service_layer import services
from shangji.leads.v1.events_pb2 import LeadAssigned, LeadRecycled, LeadRecycleWarning
from shangji.notify.v1 import notify_pb2
from shangji.opportunities.v1.events_pb2 import (
    OpportunityBigDeal,
    OpportunityCloseDateApproaching,
    OpportunityCloseDatePassed,
    OpportunityRegistered,
    OpportunityRegistrationArbitrated,
    OpportunityRegistrationQueued,
    OpportunityStalled,
    TaskCreated,
)
from shangji.samples.v1.events_pb2 import (
    SampleApprovalRequested,
    SampleFeedbackRaised,
    SampleRequestApproved,
    SampleRequestRejected,
)
from shangji.teams.v1.events_pb2 import OpportunityTeamMemberAdded
from shangji_kit import names
from shangji_kit.envelope import Envelope

# Recycle times are shown in the sales team's wall-clock time.
CHINA = timezone(timedelta(hours=8), "CST")


def _ts(value) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def notification_to_proto(notification: model.Notification) -> notify_pb2.Notification:
    n = notification
    return notify_pb2.Notification(
        name=n.name, id=n.id, recipient=names.format("users", n.recipient_id), title=n.title, body=n.body,
        subject=n.subject, read=n.read, create_time=_ts(n.create_time),
        read_time=_ts(n.read_time) if n.read_time else None)


def page_to_proto(page: services.NotificationPage) -> notify_pb2.ListNotificationsResponse:
    return notify_pb2.ListNotificationsResponse(
        notifications=[notification_to_proto(n) for n in page.notifications], next_page_token=page.next_page_token,
        unread_count=page.unread_count)


def _user(value: str, field: str) -> str:
    return names.parse(value, "users", field)


def _deal(opportunity, field: str = "opportunity") -> tuple[str, dict[str, object]]:
    """The deal's resource name and the facts every deal notice may use."""
    opportunity_id = names.parse(opportunity.name, "opportunities", f"{field}.name")
    facts = {"title": opportunity.title, "customer_company": opportunity.customer_company,
             "stage_display_name": opportunity.stage_display_name, "amount": opportunity.amount,
             "currency": opportunity.currency, "expected_close_date": opportunity.expected_close_date}
    return names.format("opportunities", opportunity_id), facts


def _owner(opportunity) -> str:
    return _user(opportunity.owner, "opportunity.owner")


def registration_from_event(env: Envelope) -> services.NoticeRequest:
    """The owner's notice of a registered deal; INVALID_ARGUMENT (dead-lettered) when malformed."""
    opportunity = env.payload(OpportunityRegistered).opportunity
    subject, facts = _deal(opportunity)
    return services.NoticeRequest("opportunity_registered", [_owner(opportunity)], subject,
                                  {**facts, "registrant": opportunity.registrant})


def team_member_from_event(env: Envelope) -> services.NoticeRequest:
    """The added member's notice; INVALID_ARGUMENT (dead-lettered) when malformed."""
    added = env.payload(OpportunityTeamMemberAdded)
    opportunity_id = names.parse(added.opportunity, "opportunities", "opportunity")
    return services.NoticeRequest(
        "team_member_added", [_user(added.member.user, "member.user")], names.format("opportunities", opportunity_id),
        {"role": added.member.role, "added_by": names.format("users", _user(added.added_by, "added_by"))})


def close_date_approaching_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(OpportunityCloseDateApproaching)
    subject, facts = _deal(event.opportunity)
    return services.NoticeRequest("close_date_approaching", [_owner(event.opportunity)], subject,
                                  {**facts, "expected_close_date": event.expected_close_date,
                                   "days_left": event.days_left})


def close_date_passed_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(OpportunityCloseDatePassed)
    subject, facts = _deal(event.opportunity)
    return services.NoticeRequest("close_date_passed", [_owner(event.opportunity)], subject,
                                  {**facts, "expected_close_date": event.expected_close_date,
                                   "days_overdue": event.days_overdue})


def stalled_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(OpportunityStalled)
    subject, facts = _deal(event.opportunity)
    return services.NoticeRequest("stalled", [_owner(event.opportunity)], subject,
                                  {**facts, "days_in_stage": event.days_in_stage, "max_days": event.max_days})


def big_deal_from_event(env: Envelope) -> services.NoticeRequest:
    """The owner and, as the escalation, each of the owner's managers the event names."""
    event = env.payload(OpportunityBigDeal)
    subject, facts = _deal(event.opportunity)
    managers = [_user(m, f"managers[{i}]") for i, m in enumerate(event.managers)]
    return services.NoticeRequest("big_deal", [_owner(event.opportunity), *managers], subject,
                                  {**facts, "amount": event.amount, "threshold": event.threshold})


def registration_queued_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(OpportunityRegistrationQueued)
    subject, facts = _deal(event.opportunity)
    return services.NoticeRequest("registration_queued", [_owner(event.opportunity)], subject,
                                  {**facts, "holder": event.holder})


def registration_arbitrated_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(OpportunityRegistrationArbitrated)
    subject, facts = _deal(event.opportunity)
    registrant = _user(event.opportunity.registrant, "opportunity.registrant")
    return services.NoticeRequest("registration_arbitrated", [registrant], subject,
                                  {**facts, "arbiter": event.arbiter, "decision": event.decision, "note": event.note})


def _lead(lead) -> tuple[str, dict[str, object]]:
    lead_id = names.parse(lead.name, "leads", "lead.name")
    return names.format("leads", lead_id), {"company": lead.company, "contact_name": lead.contact_name}


def lead_assigned_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(LeadAssigned)
    subject, facts = _lead(event.lead)
    return services.NoticeRequest("lead_assigned", [_user(event.lead.owner, "lead.owner")], subject, facts)


def lead_recycle_warning_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(LeadRecycleWarning)
    subject, facts = _lead(event.lead)
    when = event.recycle_time.ToDatetime(tzinfo=UTC).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return services.NoticeRequest("lead_recycle_warning", [_user(event.lead.owner, "lead.owner")], subject,
                                  {**facts, "rule": event.rule, "recycle_time": when})


def lead_recycled_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(LeadRecycled)
    subject, facts = _lead(event.lead)
    return services.NoticeRequest("lead_recycled", [_user(event.previous_owner, "previous_owner")], subject,
                                  {**facts, "rule": event.rule})


def _sample(request) -> tuple[str, dict[str, object]]:
    request_id = names.parse(request.name, "sampleRequests", "request.name")
    return names.format("sampleRequests", request_id), {
        "customer_company": request.customer_company, "requester": request.requester,
        "total_quantity": request.total_quantity, "estimated_cost": request.estimated_cost,
        "currency": request.currency}


def sample_approval_requested_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(SampleApprovalRequested)
    subject, facts = _sample(event.request)
    return services.NoticeRequest("sample_approval_requested", [_user(event.approver, "approver")], subject,
                                  {**facts, "tier": event.tier})


def sample_approved_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(SampleRequestApproved)
    subject, facts = _sample(event.request)
    return services.NoticeRequest("sample_approved", [_user(event.request.requester, "request.requester")],
                                  subject, facts)


def sample_rejected_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(SampleRequestRejected)
    subject, facts = _sample(event.request)
    return services.NoticeRequest("sample_rejected", [_user(event.request.requester, "request.requester")],
                                  subject, {**facts, "approver": event.approver, "comment": event.comment})


def sample_feedback_from_event(env: Envelope) -> services.NoticeRequest:
    event = env.payload(SampleFeedbackRaised)
    subject, facts = _sample(event.request)
    return services.NoticeRequest("sample_feedback_assigned", [_user(event.assignee, "assignee")], subject,
                                  {**facts, "summary": event.summary})


def task_created_from_event(env: Envelope) -> services.NoticeRequest:
    """The assignee hears of a task someone else (or a stage's tasks_on_entry) gave them; not of their own."""
    event = env.payload(TaskCreated)
    task = event.task
    opportunity_id = names.parse(task.opportunity, "opportunities", "task.opportunity")
    assignee = _user(task.assignee, "task.assignee")
    recipients = [] if task.creator == task.assignee else [assignee]
    return services.NoticeRequest("task_assigned", recipients, names.format("opportunities", opportunity_id),
                                  {"task_title": task.title, "opportunity_title": event.opportunity_title,
                                   "due_date": task.due_date})
