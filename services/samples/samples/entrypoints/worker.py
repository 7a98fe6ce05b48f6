"""The samples nameko worker: keeps teams' organisation (visibility, approvers, cost centres), records the ERP's
free orders and the bridge's dead letters on their requests, moves open requests to their deal's new owner (a
reassigned deal, a handover), and relays the outbox."""

from __future__ import annotations

from samples import bootstrap
from samples.entrypoints import inbound
from samples.service_layer import organisation, ownership, shipping
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.envelope import Envelope
from shangji_kit.inbox import Delivery
from shangji_kit.org_handlers import OrgDepartmentEvents, OrgUserEvents
from shangji_kit.visibility import OrgUser
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider


class SamplesWorker(OrgUserEvents, OrgDepartmentEvents):
    name = "samples"
    relay = OutboxRelayRunner("samples")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)

    def record_org_user(self, delivery: Delivery, env: Envelope, user: OrgUser) -> None:
        # A user who left hands their waiting approval steps on, with the projection's change.
        organisation.record_user(delivery, self.uow(), user)

    @event_handler("erp_bridge", "shangji.erp_bridge.v1.ErpOrderConfirmed")
    def on_erp_order_confirmed(self, body: dict) -> None:
        with event_context(body) as env:
            shipping.record_erp_order_confirmed(env, self.uow(), inbound.order_confirmed_from_event(env))

    @event_handler("erp_bridge", "shangji.erp_bridge.v1.ErpOrderDeadLettered")
    def on_erp_order_dead_lettered(self, body: dict) -> None:
        with event_context(body) as env:
            shipping.record_erp_order_dead_lettered(env, self.uow(), inbound.order_dead_lettered_from_event(env))

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityReassigned")
    def on_opportunity_reassigned(self, body: dict) -> None:
        with event_context(body) as env:
            ownership.follow_reassigned_deal(env, self.uow(), inbound.opportunity_reassigned_from_event(env))

    @event_handler("teams", "shangji.teams.v1.OwnershipTransferred")
    def on_ownership_transferred(self, body: dict) -> None:
        with event_context(body) as env:
            ownership.hand_over(env, self.uow(), inbound.ownership_transferred_from_event(env))
