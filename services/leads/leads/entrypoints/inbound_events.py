"""The events leads consumes (teams' organisation and transfers, opportunities' outcomes) as domain
values; a malformed one is INVALID_ARGUMENT (so retried, then dead-lettered)."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message

from leads.domain import campaigns, model, pool
from shangji.opportunities.v1 import events_pb2 as opp_events
from shangji.teams.v1 import events_pb2 as teams_events
from shangji_kit import names, org_events
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument

_OUTCOME_EVENTS = {opp_events.OpportunityWon.DESCRIPTOR.full_name: (opp_events.OpportunityWon, True),
                   opp_events.OpportunityReopened.DESCRIPTOR.full_name: (opp_events.OpportunityReopened, False)}


def outcome_from_event(env: Envelope):
    """A won or reopened deal from opportunities' OpportunityWon / OpportunityReopened."""
    message_type, won = _OUTCOME_EVENTS.get(env.type, (None, False))
    if message_type is None:
        raise InvalidArgument.field("type", f"not an opportunity outcome event: {env.type}")
    message = env.payload(message_type)
    opp = message.opportunity
    if not opp.name:
        raise InvalidArgument.field("opportunity.name", "required")
    lead_id = names.parse(opp.lead, "leads", "opportunity.lead") if opp.lead else None
    change_time = (message.change_time.ToDatetime(tzinfo=UTC) if message.HasField("change_time")
                   else datetime.fromisoformat(env.time.replace("Z", "+00:00")))
    return campaigns.Outcome(opportunity=opp.name, lead_id=lead_id, won=won, amount=opp.amount or "0",
                             currency=opp.currency, change_time=change_time)


def _update_time(message: Message, field: str):
    # The projection keeps the newest state by this time; without it an event cannot be ordered.
    if not message.HasField("update_time"):
        raise InvalidArgument.field(field, "required")
    return message.update_time.ToDatetime(tzinfo=UTC)


def rep_from_event(env: Envelope) -> pool.RepProfile:
    """The rep's territories, expertise and capacity from UserCreated or UserUpdated."""
    user = env.payload(org_events.user_event_type(env)).user
    return pool.RepProfile(
        user_id=names.parse(user.name, "users", "user.name"),
        territories=tuple(t.strip() for t in user.territories if t.strip()),
        expertise=tuple(e.strip() for e in user.expertise if e.strip()), capacity=max(user.capacity, 0),
        update_time=_update_time(user, "user.update_time"))


def hand_over_from_event(env: Envelope) -> model.HandOver:
    transfer = env.payload(teams_events.OwnershipTransferred)
    if not transfer.transfer_id:
        raise InvalidArgument.field("transfer_id", "required")
    return model.HandOver(
        transfer_id=transfer.transfer_id,
        from_owner_id=names.parse(transfer.from_user, "users", "from_user"),
        to_owner_id=names.parse(transfer.to_user, "users", "to_user"),
        transfer_time=transfer.transfer_time.ToDatetime(tzinfo=UTC) if transfer.HasField("transfer_time") else None)
