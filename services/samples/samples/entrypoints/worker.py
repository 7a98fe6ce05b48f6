"""The samples nameko worker: keeps teams' organisation (visibility, approvers, cost centres), records the ERP's
free orders and the bridge's dead letters on their requests, and relays the outbox."""

from __future__ import annotations

from samples import bootstrap
from samples.adapters import protomap
from samples.service_layer import services
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.envelope import Envelope
from shangji_kit.inbox import Delivery
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider


def _delivery(consumer: str, env: Envelope) -> Delivery:
    return Delivery(consumer=consumer, event_id=env.id, event_type=env.type)


class SamplesWorker:
    name = "samples"
    relay = OutboxRelayRunner("samples")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)

    @event_handler("erp_bridge", "shangji.erp_bridge.v1.ErpOrderConfirmed")
    def on_erp_order_confirmed(self, body: dict) -> None:
        with event_context(body) as env:
            services.record_erp_order(protomap.order_confirmed_from_event(env),
                                      _delivery(services.ORDER_CONFIRMED_CONSUMER, env), self.uow())

    @event_handler("erp_bridge", "shangji.erp_bridge.v1.ErpOrderDeadLettered")
    def on_erp_order_dead_lettered(self, body: dict) -> None:
        with event_context(body) as env:
            services.record_erp_order(protomap.order_dead_lettered_from_event(env),
                                      _delivery(services.ORDER_DEAD_LETTERED_CONSUMER, env), self.uow())

    @event_handler("teams", "shangji.teams.v1.UserCreated")
    def on_user_created(self, body: dict) -> None:
        with event_context(body) as env:
            services.record_user(protomap.user_from_event(env), _delivery(services.USER_CREATED_CONSUMER, env),
                                 self.uow())

    @event_handler("teams", "shangji.teams.v1.UserUpdated")
    def on_user_updated(self, body: dict) -> None:
        with event_context(body) as env:
            services.record_user(protomap.user_from_event(env), _delivery(services.USER_UPDATED_CONSUMER, env),
                                 self.uow())

    @event_handler("teams", "shangji.teams.v1.UserDeactivated")
    def on_user_deactivated(self, body: dict) -> None:
        with event_context(body) as env:
            services.record_user(protomap.user_from_event(env),
                                 _delivery(services.USER_DEACTIVATED_CONSUMER, env), self.uow())

    @event_handler("teams", "shangji.teams.v1.DepartmentChanged")
    def on_department_changed(self, body: dict) -> None:
        with event_context(body) as env:
            services.record_department(protomap.department_from_event(env),
                                       _delivery(services.DEPARTMENT_CHANGED_CONSUMER, env), self.uow())
