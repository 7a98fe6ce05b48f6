"""Inbound: the events notify consumes, read into the notices workflow's commands (and reminders to come).

Each reader takes an envelope and raises INVALID_ARGUMENT naming the field when the event is malformed
(the consumer then retries and dead-letters it). API responses are ``entrypoints/responses.py``."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from notify.domain import reminders
from notify.service_layer.context import Rules
from notify.service_layer.notices import EventEffects, NoticeRequest, ReminderMove
from shangji.leads.v1.events_pb2 import (
    FollowUpAdded,
    LeadAssigned,
    LeadClaimed,
    LeadCreated,
    LeadRecycled,
    LeadRecycleWarning,
)
from shangji.opportunities.v1.events_pb2 import (
    ActivityRecorded,
    OpportunityBigDeal,
    OpportunityCloseDateApproaching,
    OpportunityCloseDatePassed,
    OpportunityReassigned,
    OpportunityRegistered,
    OpportunityRegistrationArbitrated,
    OpportunityRegistrationQueued,
    OpportunityStalled,
    TaskCompleted,
    TaskCreated,
)
from shangji.opportunities.v1.opportunities_pb2 import Opportunity
from shangji.samples.v1.events_pb2 import (
    SampleApprovalRequested,
    SampleFeedbackRaised,
    SampleRequestApproved,
    SampleRequestOwnerChanged,
    SampleRequestRejected,
)
from shangji.teams.v1.events_pb2 import OpportunityTeamMemberAdded
from shangji_kit import company_time, names
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument


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


def registration_from_event(env: Envelope, routing_role: str = "sales_ops") -> NoticeRequest:
    """The owner's notice of a registered deal; a deal without an owner goes to the routing queue's
    leaders (holders of ``routing_role``). INVALID_ARGUMENT (dead-lettered) when malformed."""
    return _registration_request(env.payload(OpportunityRegistered).opportunity, routing_role)


def _registration_request(opportunity: Opportunity, routing_role: str) -> NoticeRequest:
    subject, facts = _deal(opportunity)
    if opportunity.registration_state == Opportunity.UNASSIGNED:
        return NoticeRequest("unassigned_deal", [], subject, facts, role_holders=(routing_role,))
    return NoticeRequest("opportunity_registered", [_owner(opportunity)], subject,
                         {**facts, "registrant": opportunity.registrant})


def team_member_from_event(env: Envelope) -> NoticeRequest:
    """The added member's notice; INVALID_ARGUMENT (dead-lettered) when malformed."""
    added = env.payload(OpportunityTeamMemberAdded)
    opportunity_id = names.parse(added.opportunity, "opportunities", "opportunity")
    return NoticeRequest(
        "team_member_added", [_user(added.member.user, "member.user")], names.format("opportunities", opportunity_id),
        {"role": added.member.role, "added_by": names.format("users", _user(added.added_by, "added_by"))})


def close_date_approaching_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(OpportunityCloseDateApproaching)
    subject, facts = _deal(event.opportunity)
    return NoticeRequest("close_date_approaching", [_owner(event.opportunity)], subject,
                                  {**facts, "expected_close_date": event.expected_close_date,
                                   "days_left": event.days_left})


def close_date_passed_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(OpportunityCloseDatePassed)
    subject, facts = _deal(event.opportunity)
    return NoticeRequest("close_date_passed", [_owner(event.opportunity)], subject,
                                  {**facts, "expected_close_date": event.expected_close_date,
                                   "days_overdue": event.days_overdue})


def stalled_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(OpportunityStalled)
    subject, facts = _deal(event.opportunity)
    return NoticeRequest("stalled", [_owner(event.opportunity)], subject,
                                  {**facts, "days_in_stage": event.days_in_stage, "max_days": event.max_days})


def big_deal_from_event(env: Envelope) -> NoticeRequest:
    """The owner and, as the escalation, each of the owner's managers the event names."""
    event = env.payload(OpportunityBigDeal)
    subject, facts = _deal(event.opportunity)
    managers = [_user(m, f"managers[{i}]") for i, m in enumerate(event.managers)]
    return NoticeRequest("big_deal", [_owner(event.opportunity), *managers], subject,
                                  {**facts, "amount": event.amount, "threshold": event.threshold})


def registration_queued_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(OpportunityRegistrationQueued)
    subject, facts = _deal(event.opportunity)
    return NoticeRequest("registration_queued", [_owner(event.opportunity)], subject,
                                  {**facts, "holder": event.holder})


def registration_arbitrated_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(OpportunityRegistrationArbitrated)
    subject, facts = _deal(event.opportunity)
    registrant = _user(event.opportunity.registrant, "opportunity.registrant")
    return NoticeRequest("registration_arbitrated", [registrant], subject,
                                  {**facts, "arbiter": event.arbiter, "decision": event.decision, "note": event.note})


def _lead(lead) -> tuple[str, dict[str, object]]:
    lead_id = names.parse(lead.name, "leads", "lead.name")
    return names.format("leads", lead_id), {"company": lead.company, "contact_name": lead.contact_name}


def lead_assigned_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(LeadAssigned)
    subject, facts = _lead(event.lead)
    return NoticeRequest("lead_assigned", [_user(event.lead.owner, "lead.owner")], subject, facts)


def lead_recycle_warning_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(LeadRecycleWarning)
    subject, facts = _lead(event.lead)
    when = event.recycle_time.ToDatetime(tzinfo=UTC).astimezone(company_time.zone()).strftime("%Y-%m-%d %H:%M")
    return NoticeRequest("lead_recycle_warning", [_user(event.lead.owner, "lead.owner")], subject,
                                  {**facts, "rule": event.rule, "recycle_time": when})


def lead_recycled_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(LeadRecycled)
    subject, facts = _lead(event.lead)
    return NoticeRequest("lead_recycled", [_user(event.previous_owner, "previous_owner")], subject,
                                  {**facts, "rule": event.rule})


def _sample(request) -> tuple[str, dict[str, object]]:
    request_id = names.parse(request.name, "sampleRequests", "request.name")
    return names.format("sampleRequests", request_id), {
        "customer_company": request.customer_company, "requester": request.requester,
        "total_quantity": request.total_quantity, "estimated_cost": request.estimated_cost,
        "currency": request.currency}


def sample_approval_requested_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(SampleApprovalRequested)
    subject, facts = _sample(event.request)
    return NoticeRequest("sample_approval_requested", [_user(event.approver, "approver")], subject,
                                  {**facts, "tier": event.tier})


def _followers(request) -> list[str]:
    """Who follows a request up: its owner (when set; the deal's new owner once it changed hands) first, then the
    requester (the same person until then: told once)."""
    requester = _user(request.requester, "request.requester")
    owner = _user(request.owner, "request.owner") if request.owner else requester
    return list(dict.fromkeys((owner, requester)))


def sample_approved_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(SampleRequestApproved)
    subject, facts = _sample(event.request)
    return NoticeRequest("sample_approved", _followers(event.request), subject, facts)


def sample_rejected_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(SampleRequestRejected)
    subject, facts = _sample(event.request)
    return NoticeRequest("sample_rejected", _followers(event.request), subject,
                         {**facts, "approver": event.approver, "comment": event.comment})


def sample_feedback_from_event(env: Envelope) -> NoticeRequest:
    event = env.payload(SampleFeedbackRaised)
    subject, facts = _sample(event.request)
    return NoticeRequest("sample_feedback_assigned", [_user(event.assignee, "assignee")], subject,
                                  {**facts, "summary": event.summary})


def sample_feedback_effects(env: Envelope) -> EventEffects:
    """The assignee is given the problem; the request's owner hears of it (once: as the assignee when they are)."""
    assigned = sample_feedback_from_event(env)
    request = env.payload(SampleFeedbackRaised).request
    owner = [_user(request.owner, "request.owner")] if request.owner else []
    return EventEffects([assigned, NoticeRequest("sample_feedback_raised", owner, assigned.subject, assigned.facts)])


def sample_owner_changed_from_event(env: Envelope) -> NoticeRequest:
    """An open request followed its deal (reassigned or handed over) to a new owner: they hear they follow it now."""
    event = env.payload(SampleRequestOwnerChanged)
    subject, facts = _sample(event.request)
    return NoticeRequest("sample_request_moved_to_you", [_user(event.new_owner, "new_owner")], subject,
                         {**facts, "previous_owner": event.previous_owner, "cause": event.cause})


def task_created_from_event(env: Envelope) -> NoticeRequest:
    """The assignee hears of a task someone else (or a stage's tasks_on_entry) gave them; not of their own."""
    event = env.payload(TaskCreated)
    task = event.task
    opportunity_id = names.parse(task.opportunity, "opportunities", "task.opportunity")
    assignee = _user(task.assignee, "task.assignee")
    recipients = [] if task.creator == task.assignee else [assignee]
    return NoticeRequest("task_assigned", recipients, names.format("opportunities", opportunity_id),
                                  {"task_title": task.title, "opportunity_title": event.opportunity_title,
                                   "due_date": task.due_date})


# --- events with reminders to come, escalations and stops --------------------------------------------

def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def _time(ts, env: Envelope) -> datetime:
    """The event's own time field, else the envelope's time; INVALID_ARGUMENT when neither is there."""
    if ts.seconds or ts.nanos:
        return ts.ToDatetime(tzinfo=UTC)
    try:
        return datetime.fromisoformat(env.time.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidArgument.field("time", f"not a time: {env.time!r}") from exc


def registration_effects(env: Envelope, rules: Rules) -> EventEffects:
    """The owner's notice (or the routing queue's), and the follow-up cadence while nothing is recorded."""
    opportunity = env.payload(OpportunityRegistered).opportunity  # parsed once for both
    request = _registration_request(opportunity, rules.routing_role)
    if not request.recipients:
        return EventEffects([request])
    start = _time(opportunity.create_time, env)
    cadence = reminders.follow_ups(ids=_ids(len(rules.follow_up_days)), subject=request.subject,
                                   recipient_id=request.recipients[0], title=opportunity.title, start=start,
                                   days=rules.follow_up_days, tz=rules.tz)
    return EventEffects([request], cadence)


def close_date_passed_effects(env: Envelope, rules: Rules) -> EventEffects:
    """The owner; also the owner's manager once the date is passed by more than the escalation days."""
    request = close_date_passed_from_event(env)
    event = env.payload(OpportunityCloseDatePassed)
    notices = [request]
    if event.days_overdue > rules.overdue_escalation_days:
        notices.append(NoticeRequest("close_date_overdue_escalation", [], request.subject,
                                     {**request.facts, "owner": event.opportunity.owner},
                                     managers_of=tuple(request.recipients)))
    return EventEffects(notices)


def stalled_effects(env: Envelope, rules: Rules) -> EventEffects:
    """The owner now; the department head after the escalation delay unless the deal moves first."""
    request = stalled_from_event(env)
    event = env.payload(OpportunityStalled)
    owner = request.recipients[0]
    escalation = reminders.stalled_escalation(
        id=_ids(1)[0], deal=request.subject, owner_id=owner, facts={**request.facts, "owner": event.opportunity.owner},
        now=_time(event.detect_time, env), delay=rules.stalled_escalation)
    return EventEffects([request], [escalation])


def registration_queued_effects(env: Envelope, rules: Rules) -> EventEffects:
    """The registrant hears it is queued; the arbiters (the head of the department of the rep holding the
    customer, else the routing queue's leaders) are asked to decide."""
    request = registration_queued_from_event(env)
    event = env.payload(OpportunityRegistrationQueued)
    holder = _user(event.holder, "holder")
    arbiters = NoticeRequest("registration_arbitration_requested", [], request.subject,
                             {**request.facts, "registrant": event.opportunity.registrant},
                             managers_of=(holder,), role_holders=(rules.routing_role,), roles_as_fallback=True)
    return EventEffects([request, arbiters])


def reassigned_effects(env: Envelope) -> EventEffects:
    """A manager gave the deal to another rep: the new owner hears it is theirs (by whom, why), the previous owner
    that it went (to whom, why). The previous owner's open tasks moved with the deal (ReassignOpportunity's rule;
    the event does not say how many), so their pending reminders, with the deal's follow-ups and stalled
    escalation, now go to the new owner."""
    event = env.payload(OpportunityReassigned)
    subject, facts = _deal(event.opportunity)
    new_owner = _user(event.new_owner, "new_owner")
    # A deal may have had no owner before (the contract allows an empty previous_owner): nobody to tell or move.
    previous = _user(event.previous_owner, "previous_owner") if event.previous_owner else ""
    facts = {**facts, "actor": names.format("users", _user(event.actor, "actor")), "reason": event.reason,
             "previous_owner": event.previous_owner, "new_owner": event.new_owner}
    notices = [NoticeRequest("opportunity_reassigned_to_you", [new_owner], subject, facts)]
    if previous and previous != new_owner:
        notices.append(NoticeRequest("opportunity_reassigned_away", [previous], subject, facts))
        return EventEffects(notices, moves=[ReminderMove(subject, previous, new_owner,
                                                         _time(event.change_time, env))])
    return EventEffects(notices)


def _due_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidArgument.field(field, f"must be YYYY-MM-DD, got {value!r}") from exc


def task_created_effects(env: Envelope, rules: Rules) -> EventEffects:
    """The assignee's notice (not for a task they gave themselves) and reminders on the due day and after."""
    request = task_created_from_event(env)
    task = env.payload(TaskCreated).task
    assignee = _user(task.assignee, "task.assignee")
    due = _due_date(task.due_date, "task.due_date")
    later = reminders.task_reminders(ids=_ids(2), task=task.name or request.subject, assignee_id=assignee, due=due,
                                     facts=request.facts, tz=rules.tz)
    return EventEffects([request] if request.recipients else [], later)


def task_completed_effects(env: Envelope) -> EventEffects:
    task = env.payload(TaskCompleted).task
    if not task.name:
        raise InvalidArgument.field("task.name", "required")
    return EventEffects(stops=[(task.name, (reminders.TASK_DUE, reminders.TASK_OVERDUE))])


def activity_recorded_effects(env: Envelope) -> EventEffects:
    """Something was recorded on the deal: its follow-up reminders stop."""
    event = env.payload(ActivityRecorded)
    deal = names.format("opportunities", names.parse(event.opportunity, "opportunities", "opportunity"))
    return EventEffects(stops=[(deal, (reminders.FOLLOW_UP,))])


def deal_moved_effects(env: Envelope, message_type) -> EventEffects:
    """A stage change, a win or a loss: no stalled escalation (and, once closed, no follow-ups) for it."""
    subject, _ = _deal(env.payload(message_type).opportunity)
    return EventEffects(stops=[(subject, (reminders.STALLED_ESCALATION, reminders.FOLLOW_UP))])


def lead_created_effects(env: Envelope) -> EventEffects:
    """A lead imported with an owner, or entered by someone for someone else: its owner hears of it."""
    event = env.payload(LeadCreated)
    if not event.lead.owner:
        return EventEffects()
    owner = _user(event.lead.owner, "lead.owner")
    # Without created_by (a producer that does not set it yet) nobody is known to have made it for the owner.
    if not event.imported and (not event.created_by or event.created_by == event.lead.owner):
        return EventEffects()
    subject, facts = _lead(event.lead)
    return EventEffects([NoticeRequest("lead_created_for_you", [owner], subject,
                                       {**facts, "imported": event.imported, "created_by": event.created_by})])


def lead_claimed_effects(env: Envelope, rules: Rules) -> EventEffects:
    """The follow-up cadence for the rep who claimed the lead."""
    event = env.payload(LeadClaimed)
    owner = _user(event.lead.owner, "lead.owner")
    subject, _ = _lead(event.lead)
    cadence = reminders.follow_ups(ids=_ids(len(rules.follow_up_days)), subject=subject, recipient_id=owner,
                                   title=event.lead.company, start=_time(event.claim_time, env),
                                   days=rules.follow_up_days, tz=rules.tz)
    return EventEffects(reminders=cadence)


def lead_stop_effects(env: Envelope, message_type) -> EventEffects:
    """A follow-up recorded, or the lead gone back to the pool: its follow-up reminders stop."""
    subject, _ = _lead(env.payload(message_type).lead)
    return EventEffects(stops=[(subject, (reminders.FOLLOW_UP,))])


FOLLOW_UP_STOPS = (FollowUpAdded, LeadRecycled)
