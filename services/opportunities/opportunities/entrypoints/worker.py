"""The opportunities nameko worker: registers a deal for each converted lead and relays the outbox."""

from __future__ import annotations

import functools
from collections.abc import Callable

from opportunities import bootstrap
from opportunities.adapters import protomap
from opportunities.service_layer import services
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider


@functools.cache
def _uow_factory() -> Callable[[], OpportunitiesUnitOfWork]:
    # Built on first use, not at import: worker_main imports this module before the worker has configured
    # itself, and importing must not open database pools.
    return bootstrap.uow_factory()


def _new_uow() -> OpportunitiesUnitOfWork:
    return _uow_factory()()


class OpportunitiesWorker:
    name = "opportunities"
    relay = OutboxRelayRunner("opportunities")
    uow = UnitOfWorkProvider(_new_uow)

    @event_handler("leads", "shangji.leads.v1.LeadConverted")
    def on_lead_converted(self, body: dict) -> None:
        with event_context(body) as env:
            services.register_from_conversion(protomap.registration_from_event(env), env.id, self.uow())
