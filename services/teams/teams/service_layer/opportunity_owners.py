"""Who owns each opportunity, learnt from opportunities' OpportunityRegistered (teams decides who manages a
deal's team by it)."""

from __future__ import annotations

from shangji_kit.clock import Clock, utc_now
from shangji_kit.inbox import idempotent
from teams.domain import commands
from teams.service_layer.unit_of_work import TeamsUnitOfWork


@idempotent(consumer="teams.on_opportunity_registered", skipped=False)
def record_opportunity_owner(uow: TeamsUnitOfWork, cmd: commands.RecordOpportunityOwner,
                             clock: Clock = utc_now) -> bool:
    """True when the owner is new to teams; False when already known (another event for the same opportunity:
    its inbox claim still commits) or for a redelivery."""
    return uow.opportunity_teams.add_owner(cmd.opportunity_id, cmd.owner_id, clock())
