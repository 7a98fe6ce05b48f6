"""The notify nameko worker: turns other services' events into in-app notices, and relays the outbox.

Each handler only picks the protomap function that reads its event; services.notify stores the notices
with the inbox claim (consumer ``notify.<method>``) in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from notify import bootstrap
from notify.adapters import protomap
from notify.service_layer import services
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.envelope import Envelope
from shangji_kit.inbox import Delivery
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider


class NotifyWorker:
    name = "notify"
    relay = OutboxRelayRunner("notify")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)

    def _notify(self, body: dict, method: str, read: Callable[[Envelope], services.NoticeRequest]) -> None:
        with event_context(body) as env:
            services.notify(read(env), Delivery(f"notify.{method}", env.id, env.type), self.uow())

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityRegistered")
    def on_opportunity_registered(self, body: dict) -> None:
        self._notify(body, "on_opportunity_registered", protomap.registration_from_event)

    @event_handler("teams", "shangji.teams.v1.OpportunityTeamMemberAdded")
    def on_team_member_added(self, body: dict) -> None:
        self._notify(body, "on_team_member_added", protomap.team_member_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityCloseDateApproaching")
    def on_close_date_approaching(self, body: dict) -> None:
        self._notify(body, "on_close_date_approaching", protomap.close_date_approaching_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityCloseDatePassed")
    def on_close_date_passed(self, body: dict) -> None:
        self._notify(body, "on_close_date_passed", protomap.close_date_passed_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityStalled")
    def on_stalled(self, body: dict) -> None:
        self._notify(body, "on_stalled", protomap.stalled_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityBigDeal")
    def on_big_deal(self, body: dict) -> None:
        self._notify(body, "on_big_deal", protomap.big_deal_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityRegistrationQueued")
    def on_registration_queued(self, body: dict) -> None:
        self._notify(body, "on_registration_queued", protomap.registration_queued_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityRegistrationArbitrated")
    def on_registration_arbitrated(self, body: dict) -> None:
        self._notify(body, "on_registration_arbitrated", protomap.registration_arbitrated_from_event)

    @event_handler("leads", "shangji.leads.v1.LeadAssigned")
    def on_lead_assigned(self, body: dict) -> None:
        self._notify(body, "on_lead_assigned", protomap.lead_assigned_from_event)

    @event_handler("leads", "shangji.leads.v1.LeadRecycleWarning")
    def on_lead_recycle_warning(self, body: dict) -> None:
        self._notify(body, "on_lead_recycle_warning", protomap.lead_recycle_warning_from_event)

    @event_handler("leads", "shangji.leads.v1.LeadRecycled")
    def on_lead_recycled(self, body: dict) -> None:
        self._notify(body, "on_lead_recycled", protomap.lead_recycled_from_event)

    @event_handler("samples", "shangji.samples.v1.SampleApprovalRequested")
    def on_sample_approval_requested(self, body: dict) -> None:
        self._notify(body, "on_sample_approval_requested", protomap.sample_approval_requested_from_event)

    @event_handler("samples", "shangji.samples.v1.SampleRequestApproved")
    def on_sample_approved(self, body: dict) -> None:
        self._notify(body, "on_sample_approved", protomap.sample_approved_from_event)

    @event_handler("samples", "shangji.samples.v1.SampleRequestRejected")
    def on_sample_rejected(self, body: dict) -> None:
        self._notify(body, "on_sample_rejected", protomap.sample_rejected_from_event)

    @event_handler("samples", "shangji.samples.v1.SampleFeedbackRaised")
    def on_sample_feedback_raised(self, body: dict) -> None:
        self._notify(body, "on_sample_feedback_raised", protomap.sample_feedback_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.TaskCreated")
    def on_task_created(self, body: dict) -> None:
        self._notify(body, "on_task_created", protomap.task_created_from_event)
