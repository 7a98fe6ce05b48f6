"""The opportunities nameko worker: registers a deal for each converted lead, keeps teams' organisation and
opportunity teams for visibility, hands deals over, keeps customers' decision chains, the samples approved and
delivered per deal and won deals' ERP orders, and relays the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from nameko.timer import timer

from opportunities import bootstrap
from opportunities.entrypoints import from_event
from opportunities.service_layer import alerts, projection, records, registration, reports
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.org_handlers import OrgDepartmentEvents, OrgUserEvents
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider


class OpportunitiesWorker(OrgUserEvents, OrgDepartmentEvents):
    """Teams' users and departments reach the organisation projection through the kit's handlers (queues and inbox
    consumers ``opportunities.on_user_created`` ...)."""

    name = "opportunities"
    relay = OutboxRelayRunner("opportunities")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)
    reports_uow = UnitOfWorkProvider(bootstrap.reports_uow_factory)

    @timer(interval=300)
    def scan_alerts(self) -> None:
        """Every five minutes: close dates approaching or passed, stalled deals (each alert once)."""
        alerts.scan_alerts(datetime.now(UTC), self.uow())

    @timer(interval=3600)
    def take_forecast_snapshot(self) -> None:
        """Hourly; the first tick of each company week keeps that week's forecast (reports, once per week)."""
        reports.take_forecast_snapshot(datetime.now(UTC), self.reports_uow())

    @event_handler("leads", "shangji.leads.v1.LeadConverted")
    def on_lead_converted(self, body: dict) -> None:
        with event_context(body) as env:
            registration.register_from_conversion(from_event.registration_from_event(env), env.id, self.uow())

    @event_handler("teams", "shangji.teams.v1.OwnershipTransferred")
    def on_ownership_transferred(self, body: dict) -> None:
        with event_context(body) as env:
            projection.transfer_ownership(env, self.uow(), from_event.transfer_from_event(env), datetime.now(UTC))

    @event_handler("teams", "shangji.teams.v1.OpportunityTeamMemberAdded")
    def on_team_member_added(self, body: dict) -> None:
        with event_context(body) as env:
            projection.add_team_member(env, self.uow(), from_event.team_member_from_event(env))

    @event_handler("teams", "shangji.teams.v1.OpportunityTeamMemberRemoved")
    def on_team_member_removed(self, body: dict) -> None:
        with event_context(body) as env:
            projection.remove_team_member(env, self.uow(), from_event.team_member_removal_from_event(env))

    # --- leads' customers and samples' requests ----------------------------------------------------------

    @event_handler("leads", "shangji.leads.v1.CustomerDecisionChainChanged")
    def on_customer_decision_chain_changed(self, body: dict) -> None:
        with event_context(body) as env:
            projection.record_customer_chain(env, self.uow(), from_event.customer_chain_from_event(env))

    @event_handler("leads", "shangji.leads.v1.CustomerCreated")
    def on_customer_created(self, body: dict) -> None:
        with event_context(body) as env:
            projection.record_customer_created(env, self.uow(), from_event.customer_owner_from_event(env))

    @event_handler("leads", "shangji.leads.v1.CustomerUpdated")
    def on_customer_updated(self, body: dict) -> None:
        with event_context(body) as env:
            projection.record_customer_updated(env, self.uow(), from_event.customer_owner_from_event(env))

    @event_handler("samples", "shangji.samples.v1.SampleRequestApproved")
    def on_sample_request_approved(self, body: dict) -> None:
        with event_context(body) as env:
            records.record_sample_approved(env, self.uow(), from_event.sample_from_event(env))

    @event_handler("erp_bridge", "shangji.erp_bridge.v1.ErpOrderConfirmed")
    def on_erp_order_confirmed(self, body: dict) -> None:
        with event_context(body) as env:
            records.record_erp_order(env, self.uow(), from_event.erp_order_from_event(env))

    @event_handler("samples", "shangji.samples.v1.SampleDelivered")
    def on_sample_delivered(self, body: dict) -> None:
        with event_context(body) as env:
            records.record_sample_delivered(env, self.uow(), from_event.sample_from_event(env))
