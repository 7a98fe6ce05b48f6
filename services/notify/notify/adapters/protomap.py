"""The one module that converts between notify's protos (and the events it consumes) and its domain."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from notify.domain import model
from notify.service_layer import services
from shangji.notify.v1 import notify_pb2
from shangji.opportunities.v1.events_pb2 import OpportunityRegistered
from shangji.teams.v1.events_pb2 import OpportunityTeamMemberAdded
from shangji_kit import names
from shangji_kit.envelope import Envelope


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


def registration_from_event(env: Envelope) -> services.NotifyRegistration:
    """The notice an OpportunityRegistered event asks for; INVALID_ARGUMENT (dead-lettered) when malformed."""
    opportunity = env.payload(OpportunityRegistered).opportunity
    opportunity_id = names.parse(opportunity.name, "opportunities", "opportunity.name")
    return services.NotifyRegistration(
        opportunity=names.format("opportunities", opportunity_id),
        owner_id=names.parse(opportunity.owner, "users", "opportunity.owner"), title=opportunity.title,
        customer_company=opportunity.customer_company, stage_display_name=opportunity.stage_display_name,
        registrant=opportunity.registrant)


def team_member_from_event(env: Envelope) -> services.NotifyTeamMember:
    """The notice an OpportunityTeamMemberAdded event asks for; INVALID_ARGUMENT (dead-lettered) when malformed."""
    added = env.payload(OpportunityTeamMemberAdded)
    opportunity_id = names.parse(added.opportunity, "opportunities", "opportunity")
    return services.NotifyTeamMember(
        opportunity=names.format("opportunities", opportunity_id),
        member_id=names.parse(added.member.user, "users", "member.user"), role=added.member.role,
        added_by=names.format("users", names.parse(added.added_by, "users", "added_by")))
