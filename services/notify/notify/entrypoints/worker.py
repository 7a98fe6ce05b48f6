"""The notify nameko worker: tells owners about newly registered deals and relays the outbox."""

from __future__ import annotations

import functools
from collections.abc import Callable

from notify import bootstrap
from notify.adapters import protomap
from notify.service_layer import services
from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider


@functools.cache
def _uow_factory() -> Callable[[], NotifyUnitOfWork]:
    # Built on first use, not at import: worker_main imports this module before the worker has configured
    # itself, and importing must not open database pools.
    return bootstrap.uow_factory()


def _new_uow() -> NotifyUnitOfWork:
    return _uow_factory()()


class NotifyWorker:
    name = "notify"
    relay = OutboxRelayRunner("notify")
    uow = UnitOfWorkProvider(_new_uow)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityRegistered")
    def on_opportunity_registered(self, body: dict) -> None:
        with event_context(body) as env:
            services.notify_registration(protomap.registration_from_event(env), env.id, self.uow())
