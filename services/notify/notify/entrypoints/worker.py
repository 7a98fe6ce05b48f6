"""The notify nameko worker: tells owners about newly registered deals, members about the deal teams they
join, and relays the outbox."""

from __future__ import annotations

from notify import bootstrap
from notify.adapters import protomap
from notify.service_layer import services
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider


class NotifyWorker:
    name = "notify"
    relay = OutboxRelayRunner("notify")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityRegistered")
    def on_opportunity_registered(self, body: dict) -> None:
        with event_context(body) as env:
            services.notify_registration(protomap.registration_from_event(env), env.id, self.uow())

    @event_handler("teams", "shangji.teams.v1.OpportunityTeamMemberAdded")
    def on_team_member_added(self, body: dict) -> None:
        with event_context(body) as env:
            services.notify_team_member(protomap.team_member_from_event(env), env.id, self.uow())
