"""The leads nameko worker: keeps teams' organisation projection, hands leads over, recycles pool leads,
relays the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from nameko.timer import timer

from leads import bootstrap
from leads.adapters import protomap
from leads.service_layer import qualification, services
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.envelope import Envelope
from shangji_kit.inbox import Delivery
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider


def _delivery(method: str, env: Envelope) -> Delivery:
    return Delivery(consumer=f"leads.{method}", event_id=env.id, event_type=env.type)


class LeadsWorker:
    name = "leads"
    relay = OutboxRelayRunner("leads")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)

    @event_handler("teams", "shangji.teams.v1.UserCreated")
    def on_user_created(self, body: dict) -> None:
        with event_context(body) as env:
            services.record_user(protomap.user_from_event(env), _delivery("on_user_created", env), self.uow(),
                                 protomap.rep_from_event(env))

    @event_handler("teams", "shangji.teams.v1.UserUpdated")
    def on_user_updated(self, body: dict) -> None:
        with event_context(body) as env:
            services.record_user(protomap.user_from_event(env), _delivery("on_user_updated", env), self.uow(),
                                 protomap.rep_from_event(env))

    @event_handler("teams", "shangji.teams.v1.UserDeactivated")
    def on_user_deactivated(self, body: dict) -> None:
        with event_context(body) as env:
            services.record_user(protomap.user_from_event(env), _delivery("on_user_deactivated", env), self.uow())

    @event_handler("teams", "shangji.teams.v1.DepartmentChanged")
    def on_department_changed(self, body: dict) -> None:
        with event_context(body) as env:
            services.record_department(protomap.department_from_event(env), _delivery("on_department_changed", env),
                                       self.uow())

    @event_handler("teams", "shangji.teams.v1.OwnershipTransferred")
    def on_ownership_transferred(self, body: dict) -> None:
        with event_context(body) as env:
            services.hand_over(protomap.hand_over_from_event(env), _delivery("on_ownership_transferred", env),
                               self.uow())

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityWon")
    def on_opportunity_won(self, body: dict) -> None:
        with event_context(body) as env:
            qualification.record_outcome(protomap.outcome_from_event(env), _delivery("on_opportunity_won", env),
                                         self.uow())

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityReopened")
    def on_opportunity_reopened(self, body: dict) -> None:
        with event_context(body) as env:
            qualification.record_outcome(protomap.outcome_from_event(env), _delivery("on_opportunity_reopened", env),
                                         self.uow())

    @timer(interval=30)
    def rescore_leads(self) -> None:
        """Open leads scored with older scoring settings, rescored after a settings change."""
        qualification.rescore_stale(datetime.now(UTC), self.uow())

    @timer(interval=60)
    def recycle_leads(self) -> None:
        """The pool's recycle rules on the real clock (tests call ``services.recycle`` with chosen times)."""
        services.recycle(datetime.now(UTC), self.uow())
