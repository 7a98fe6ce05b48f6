"""The opportunities nameko worker: registers a deal for each converted lead, keeps teams' organisation and
opportunity teams for visibility, hands deals over, keeps customers' decision chains and the samples approved and
delivered per deal, and relays the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from nameko.timer import timer

from opportunities import bootstrap
from opportunities.entrypoints import from_event
from opportunities.service_layer import alerts, projection, records, registration
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.envelope import Envelope
from shangji_kit.inbox import Delivery
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider


def _delivery(consumer: str, env: Envelope) -> Delivery:
    return Delivery(consumer=consumer, event_id=env.id, event_type=env.type)


class OpportunitiesWorker:
    name = "opportunities"
    relay = OutboxRelayRunner("opportunities")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)

    @timer(interval=300)
    def scan_alerts(self) -> None:
        """Every five minutes: close dates approaching or passed, stalled deals (each alert once)."""
        alerts.scan_alerts(datetime.now(UTC), self.uow())

    @event_handler("leads", "shangji.leads.v1.LeadConverted")
    def on_lead_converted(self, body: dict) -> None:
        with event_context(body) as env:
            registration.register_from_conversion(from_event.registration_from_event(env), env.id, self.uow())

    @event_handler("teams", "shangji.teams.v1.UserCreated")
    def on_user_created(self, body: dict) -> None:
        with event_context(body) as env:
            projection.record_user(from_event.user_from_event(env), _delivery(projection.USER_CREATED_CONSUMER, env),
                                 self.uow())

    @event_handler("teams", "shangji.teams.v1.UserUpdated")
    def on_user_updated(self, body: dict) -> None:
        with event_context(body) as env:
            projection.record_user(from_event.user_from_event(env), _delivery(projection.USER_UPDATED_CONSUMER, env),
                                 self.uow())

    @event_handler("teams", "shangji.teams.v1.UserDeactivated")
    def on_user_deactivated(self, body: dict) -> None:
        with event_context(body) as env:
            projection.record_user(from_event.user_from_event(env),
                                 _delivery(projection.USER_DEACTIVATED_CONSUMER, env), self.uow())

    @event_handler("teams", "shangji.teams.v1.DepartmentChanged")
    def on_department_changed(self, body: dict) -> None:
        with event_context(body) as env:
            projection.record_department(from_event.department_from_event(env),
                                       _delivery(projection.DEPARTMENT_CHANGED_CONSUMER, env), self.uow())

    @event_handler("teams", "shangji.teams.v1.OwnershipTransferred")
    def on_ownership_transferred(self, body: dict) -> None:
        with event_context(body) as env:
            projection.transfer_ownership(from_event.transfer_from_event(env),
                                        _delivery(projection.OWNERSHIP_TRANSFERRED_CONSUMER, env), self.uow())

    @event_handler("teams", "shangji.teams.v1.OpportunityTeamMemberAdded")
    def on_team_member_added(self, body: dict) -> None:
        with event_context(body) as env:
            projection.add_team_member(from_event.team_member_from_event(env),
                                     _delivery(projection.TEAM_MEMBER_ADDED_CONSUMER, env), self.uow())

    @event_handler("teams", "shangji.teams.v1.OpportunityTeamMemberRemoved")
    def on_team_member_removed(self, body: dict) -> None:
        with event_context(body) as env:
            projection.remove_team_member(from_event.team_member_removal_from_event(env),
                                        _delivery(projection.TEAM_MEMBER_REMOVED_CONSUMER, env), self.uow())

    # --- leads' customers and samples' requests ----------------------------------------------------------

    @event_handler("leads", "shangji.leads.v1.CustomerDecisionChainChanged")
    def on_customer_decision_chain_changed(self, body: dict) -> None:
        with event_context(body) as env:
            projection.record_customer_chain(from_event.customer_chain_from_event(env),
                                          _delivery(projection.CUSTOMER_CHAIN_CONSUMER, env), self.uow())

    @event_handler("leads", "shangji.leads.v1.CustomerCreated")
    def on_customer_created(self, body: dict) -> None:
        with event_context(body) as env:
            projection.record_customer_owner(from_event.customer_owner_from_event(env),
                                          _delivery(projection.CUSTOMER_CREATED_CONSUMER, env), self.uow())

    @event_handler("leads", "shangji.leads.v1.CustomerUpdated")
    def on_customer_updated(self, body: dict) -> None:
        with event_context(body) as env:
            projection.record_customer_owner(from_event.customer_owner_from_event(env),
                                          _delivery(projection.CUSTOMER_UPDATED_CONSUMER, env), self.uow())

    @event_handler("samples", "shangji.samples.v1.SampleRequestApproved")
    def on_sample_request_approved(self, body: dict) -> None:
        with event_context(body) as env:
            records.record_sample(from_event.sample_from_event(env), _delivery(records.SAMPLE_APPROVED_CONSUMER, env),
                                  self.uow())

    @event_handler("samples", "shangji.samples.v1.SampleDelivered")
    def on_sample_delivered(self, body: dict) -> None:
        with event_context(body) as env:
            records.record_sample(from_event.sample_from_event(env),
                                  _delivery(records.SAMPLE_DELIVERED_CONSUMER, env), self.uow())
