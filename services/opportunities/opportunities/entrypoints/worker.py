"""The opportunities nameko worker: registers a deal for each converted lead and relays the outbox."""

from __future__ import annotations

from opportunities import bootstrap
from opportunities.adapters import protomap
from opportunities.service_layer import services
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider


class OpportunitiesWorker:
    name = "opportunities"
    relay = OutboxRelayRunner("opportunities")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)

    @event_handler("leads", "shangji.leads.v1.LeadConverted")
    def on_lead_converted(self, body: dict) -> None:
        with event_context(body) as env:
            services.register_from_conversion(protomap.registration_from_event(env), env.id, self.uow())
