"""The event encoder the outbox calls (given at bootstrap): a domain event as the proto message published for it and
the resource it is about. The one place our events take their contract's shape."""

from __future__ import annotations

from google.protobuf.message import Message

from opportunities.adapters.to_proto import activity_to_proto, change_to_proto, opportunity_to_proto, task_to_proto
from opportunities.domain import alerts, audit, model, work
from shangji.opportunities.v1 import events_pb2
from shangji_kit import names
from shangji_kit.timestamps import from_datetime


def _alert_to_proto(alert: alerts.Alert) -> Message:
    o = alert.opportunity
    common = {"opportunity": opportunity_to_proto(o), "detect_time": from_datetime(alert.detect_time)}
    if alert.kind == alerts.CLOSE_DATE_APPROACHING:
        return events_pb2.OpportunityCloseDateApproaching(
            expected_close_date=o.expected_close_date.isoformat(), days_left=alert.days, **common)
    if alert.kind == alerts.CLOSE_DATE_PASSED:
        return events_pb2.OpportunityCloseDatePassed(
            expected_close_date=o.expected_close_date.isoformat(), days_overdue=alert.days, **common)
    if alert.kind == alerts.STALLED:
        return events_pb2.OpportunityStalled(stage=alert.stage_key,
                                             stage_enter_time=from_datetime(alert.stage_enter_time),
                                             max_days=alert.max_days, days_in_stage=alert.days, **common)
    if alert.kind == alerts.BIG_DEAL:
        return events_pb2.OpportunityBigDeal(amount=str(o.amount), threshold=str(alert.threshold),
                                             managers=[names.format("users", m) for m in alert.manager_ids],
                                             **common)
    raise TypeError(f"no proto for alert {alert.kind}")


def encode(event: object) -> tuple[Message, str]:
    """A domain event as (proto message, subject resource name) for the outbox."""
    if isinstance(event, work.TaskCreated):
        return (events_pb2.TaskCreated(task=task_to_proto(event.task), opportunity_title=event.opportunity_title),
                event.task.name)
    if isinstance(event, work.TaskCompleted):
        return (events_pb2.TaskCompleted(task=task_to_proto(event.task), actor=names.format("users", event.actor_id)),
                event.task.name)
    if isinstance(event, work.ActivityRecorded):
        deal = names.format("opportunities", event.activity.opportunity_id)
        owner = names.format("users", event.owner_id) if event.owner_id else ""
        return (events_pb2.ActivityRecorded(opportunity=deal, activity=activity_to_proto(event.activity),
                                            owner=owner), deal)
    if isinstance(event, audit.OpportunityChanged):
        # The entry is its own resource: counting a deal's events by subject is not changed by its audit trail.
        c = event.change
        return events_pb2.OpportunityChanged(opportunity=c.opportunity_name, change=change_to_proto(c)), c.name
    if isinstance(event, model.OpportunityReassigned):
        o = event.opportunity
        return events_pb2.OpportunityReassigned(
            opportunity=opportunity_to_proto(o),
            previous_owner=names.format("users", event.previous_owner_id) if event.previous_owner_id else "",
            new_owner=names.format("users", event.new_owner_id), actor=names.format("users", event.actor_id),
            reason=event.reason, change_time=from_datetime(event.change_time)), o.name
    if isinstance(event, alerts.Alert):
        return _alert_to_proto(event), event.opportunity.name
    if isinstance(event, model.OpportunityRegistered):
        opportunity = event.opportunity
        return events_pb2.OpportunityRegistered(opportunity=opportunity_to_proto(opportunity)), opportunity.name
    if isinstance(event, model.OpportunityRegistrationQueued):
        o, c = event.opportunity, event.collision
        return events_pb2.OpportunityRegistrationQueued(
            opportunity=opportunity_to_proto(o), holder=c.holder, holder_since=from_datetime(c.since),
            holding_opportunity=names.format("opportunities", c.holding.opportunity_id),
            product_lines=list(c.shared_lines)), o.name
    if isinstance(event, model.OpportunityRegistrationArbitrated):
        o = event.opportunity
        return events_pb2.OpportunityRegistrationArbitrated(
            opportunity=opportunity_to_proto(o), decision=event.decision.upper(),
            arbiter=names.format("users", event.arbiter_id), note=event.note,
            arbitration_time=from_datetime(event.arbitration_time)), o.name
    if isinstance(event, model.StageMove):
        o = event.opportunity
        common = {"opportunity": opportunity_to_proto(o), "from_stage": event.from_stage,
                  "actor": names.format("users", event.actor_id), "change_time": from_datetime(event.change_time)}
        if isinstance(event, model.OpportunityStageChanged):
            message = events_pb2.OpportunityStageChanged(to_stage=event.to_stage, reason=event.reason,
                                                         backward=event.backward, **common)
        elif isinstance(event, model.OpportunityWon):
            message = events_pb2.OpportunityWon(**common)
        elif isinstance(event, model.OpportunityLost):
            message = events_pb2.OpportunityLost(reason=event.reason, competitor=o.lost_competitor, **common)
        elif isinstance(event, model.OpportunityReopened):
            message = events_pb2.OpportunityReopened(to_stage=event.to_stage, reason=event.reason, **common)
        else:
            raise TypeError(f"no proto for event {type(event).__name__}")
        return message, o.name
    raise TypeError(f"no proto for event {type(event).__name__}")
