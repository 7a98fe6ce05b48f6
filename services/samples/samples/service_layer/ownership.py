"""Requests follow their deal's owner: a deal reassigned (opportunities' OpportunityReassigned) takes its open
requests to the new owner; a leaver's work handed over (teams' OwnershipTransferred) takes the open requests
they follow. Each moved request is a SampleRequestOwnerChanged, in the transaction that claims the event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from samples.domain import model
from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit.clock import Clock, utc_now
from shangji_kit.inbox import idempotent


@dataclass(frozen=True)
class OwnerChange:
    """Which open requests move (a deal's, or those an owner follows) to whom, why, and when the change was made
    (None: not said, now)."""

    new_owner_id: str
    cause: str
    at: datetime | None = None
    opportunity_id: str | None = None
    from_owner_id: str | None = None


def _follow(uow: SamplesUnitOfWork, change: OwnerChange, clock: Clock = utc_now) -> list[model.SampleRequest]:
    now = clock()
    moved = []
    for request_id in uow.requests.open_ids(opportunity_id=change.opportunity_id, owner_id=change.from_owner_id):
        request = uow.requests.get(request_id, for_update=True)
        version = request.version
        # Read again under the lock: it may have ended or moved since it was listed.
        if request.change_owner(change.new_owner_id, change.cause, change.at or now, now):
            uow.requests.update(request, version)
            uow.publish(request.events)
            moved.append(request)
    return moved


# Called ``use_case(envelope, uow, change)``; a redelivery moves nothing and returns [].
follow_reassigned_deal = idempotent(consumer="samples.on_opportunity_reassigned", skipped=[])(_follow)
hand_over = idempotent(consumer="samples.on_ownership_transferred", skipped=[])(_follow)
