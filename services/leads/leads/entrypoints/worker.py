"""The leads nameko worker: keeps teams' organisation projection, hands leads over, recycles pool leads,
relays the outbox."""

from __future__ import annotations

from nameko.timer import timer

from leads import bootstrap
from leads.entrypoints import inbound_events
from leads.service_layer import campaigns, organisation, pool, qualification
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.envelope import Envelope
from shangji_kit.inbox import Delivery
from shangji_kit.org_handlers import OrgDepartmentEvents, OrgUserEvents
from shangji_kit.visibility import OrgUser
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider

USER_DEACTIVATED = "shangji.teams.v1.UserDeactivated"


def _delivery(method: str, env: Envelope) -> Delivery:
    return Delivery(consumer=f"leads.{method}", event_id=env.id, event_type=env.type)


class LeadsWorker(OrgUserEvents, OrgDepartmentEvents):
    """teams' user and department events come through the kit's handlers (``on_user_created`` ...,
    ``on_department_changed``), the rest through these."""

    name = "leads"
    relay = OutboxRelayRunner("leads")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)

    def record_org_user(self, delivery: Delivery, env: Envelope, user: OrgUser) -> None:
        # A created or updated rep's territories, expertise and capacity go to ``reps`` in the same transaction.
        profile = None if env.type == USER_DEACTIVATED else inbound_events.rep_from_event(env)
        organisation.record_user(delivery, self.uow(), user, profile)

    @event_handler("teams", "shangji.teams.v1.OwnershipTransferred")
    def on_ownership_transferred(self, body: dict) -> None:
        with event_context(body) as env:
            organisation.hand_over(_delivery("on_ownership_transferred", env), self.uow(),
                                   inbound_events.hand_over_from_event(env), bootstrap.clock())

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityWon")
    def on_opportunity_won(self, body: dict) -> None:
        with event_context(body) as env:
            campaigns.record_outcome(inbound_events.outcome_from_event(env), _delivery("on_opportunity_won", env),
                                     self.uow())

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityReopened")
    def on_opportunity_reopened(self, body: dict) -> None:
        with event_context(body) as env:
            campaigns.record_outcome(inbound_events.outcome_from_event(env), _delivery("on_opportunity_reopened", env),
                                         self.uow())

    @timer(interval=30)
    def rescore_leads(self) -> None:
        """Open leads scored with older scoring settings, rescored after a settings change."""
        qualification.rescore_stale(bootstrap.clock(), self.uow())

    @timer(interval=60)
    def recycle_leads(self) -> None:
        """The pool's recycle rules on the real clock (tests call ``pool.recycle`` with chosen times)."""
        pool.recycle(bootstrap.clock(), self.uow())
