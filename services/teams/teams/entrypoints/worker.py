"""The teams nameko worker: learns who owns each opportunity, and relays the outbox."""

from __future__ import annotations

from shangji_kit.consumer import event_context, event_handler
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider
from teams import bootstrap
from teams.entrypoints import inbound
from teams.service_layer import opportunity_owners


class TeamsWorker:
    name = "teams"
    relay = OutboxRelayRunner("teams")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityRegistered")
    def on_opportunity_registered(self, body: dict) -> None:
        with event_context(body) as env:
            opportunity_owners.record_opportunity_owner(env, self.uow(), inbound.opportunity_owner_from_event(env))
