"""The notify nameko worker: other services' events become notices, deliveries and reminders; the channel
and reminder loops run beside the handlers (``runners.py``), and the outbox relay.

Each handler picks the reader of its event (``inbound.py``); ``notices.handle_event`` applies what it
reads with the inbox claim (consumer ``notify.<method>``) in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from notify import bootstrap
from notify.entrypoints import inbound
from notify.entrypoints.runners import DeliveryRunners
from notify.service_layer import notices, organisation
from notify.service_layer.notices import EventEffects
from shangji.leads.v1 import events_pb2 as leads_events
from shangji.opportunities.v1 import events_pb2 as opp_events
from shangji_kit import org_events
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.envelope import Envelope
from shangji_kit.inbox import Delivery
from shangji_kit.org_handlers import OrgDepartmentEvents, OrgUserEvents
from shangji_kit.visibility import OrgUser
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider

_RULES = bootstrap.rules()


class NotifyWorker(OrgUserEvents, OrgDepartmentEvents):
    name = "notify"
    relay = OutboxRelayRunner("notify")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)
    runners = DeliveryRunners()

    def _apply(self, body: dict, method: str, read: Callable[[Envelope], EventEffects]) -> None:
        with event_context(body) as env:
            effects = read(env)
            if effects.empty:
                # Most events cause nothing here (a rep's own new lead, say). What an event causes is a function of
                # the envelope alone, so a redelivery would find nothing to do either: no inbox row, no transaction.
                return
            notices.handle_event(Delivery(f"notify.{method}", env.id, env.type), self.uow(), effects, env.id,
                                 _RULES, bootstrap.clock())

    def _notify(self, body: dict, method: str, read) -> None:
        self._apply(body, method, lambda env: EventEffects([read(env)]))

    # --- deals ---------------------------------------------------------------------------------------
    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityRegistered")
    def on_opportunity_registered(self, body: dict) -> None:
        self._apply(body, "on_opportunity_registered", lambda env: inbound.registration_effects(env, _RULES))

    @event_handler("teams", "shangji.teams.v1.OpportunityTeamMemberAdded")
    def on_team_member_added(self, body: dict) -> None:
        self._notify(body, "on_team_member_added", inbound.team_member_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityCloseDateApproaching")
    def on_close_date_approaching(self, body: dict) -> None:
        self._notify(body, "on_close_date_approaching", inbound.close_date_approaching_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityCloseDatePassed")
    def on_close_date_passed(self, body: dict) -> None:
        self._apply(body, "on_close_date_passed", lambda env: inbound.close_date_passed_effects(env, _RULES))

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityStalled")
    def on_stalled(self, body: dict) -> None:
        self._apply(body, "on_stalled", lambda env: inbound.stalled_effects(env, _RULES))

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityBigDeal")
    def on_big_deal(self, body: dict) -> None:
        self._notify(body, "on_big_deal", inbound.big_deal_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityRegistrationQueued")
    def on_registration_queued(self, body: dict) -> None:
        self._apply(body, "on_registration_queued", lambda env: inbound.registration_queued_effects(env, _RULES))

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityRegistrationArbitrated")
    def on_registration_arbitrated(self, body: dict) -> None:
        self._notify(body, "on_registration_arbitrated", inbound.registration_arbitrated_from_event)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityReassigned")
    def on_opportunity_reassigned(self, body: dict) -> None:
        self._apply(body, "on_opportunity_reassigned", inbound.reassigned_effects)

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityStageChanged")
    def on_stage_changed(self, body: dict) -> None:
        self._apply(body, "on_stage_changed",
                    lambda env: inbound.deal_moved_effects(env, opp_events.OpportunityStageChanged))

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityWon")
    def on_won(self, body: dict) -> None:
        self._apply(body, "on_won", lambda env: inbound.deal_moved_effects(env, opp_events.OpportunityWon))

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityLost")
    def on_lost(self, body: dict) -> None:
        self._apply(body, "on_lost", lambda env: inbound.deal_moved_effects(env, opp_events.OpportunityLost))

    @event_handler("opportunities", "shangji.opportunities.v1.ActivityRecorded")
    def on_activity_recorded(self, body: dict) -> None:
        self._apply(body, "on_activity_recorded", inbound.activity_recorded_effects)

    @event_handler("opportunities", "shangji.opportunities.v1.TaskCreated")
    def on_task_created(self, body: dict) -> None:
        self._apply(body, "on_task_created", lambda env: inbound.task_created_effects(env, _RULES))

    @event_handler("opportunities", "shangji.opportunities.v1.TaskCompleted")
    def on_task_completed(self, body: dict) -> None:
        self._apply(body, "on_task_completed", inbound.task_completed_effects)

    # --- leads ---------------------------------------------------------------------------------------
    @event_handler("leads", "shangji.leads.v1.LeadCreated")
    def on_lead_created(self, body: dict) -> None:
        self._apply(body, "on_lead_created", inbound.lead_created_effects)

    @event_handler("leads", "shangji.leads.v1.LeadClaimed")
    def on_lead_claimed(self, body: dict) -> None:
        self._apply(body, "on_lead_claimed", lambda env: inbound.lead_claimed_effects(env, _RULES))

    @event_handler("leads", "shangji.leads.v1.FollowUpAdded")
    def on_follow_up_added(self, body: dict) -> None:
        self._apply(body, "on_follow_up_added",
                    lambda env: inbound.lead_stop_effects(env, leads_events.FollowUpAdded))

    @event_handler("leads", "shangji.leads.v1.LeadAssigned")
    def on_lead_assigned(self, body: dict) -> None:
        self._notify(body, "on_lead_assigned", inbound.lead_assigned_from_event)

    @event_handler("leads", "shangji.leads.v1.LeadRecycleWarning")
    def on_lead_recycle_warning(self, body: dict) -> None:
        self._notify(body, "on_lead_recycle_warning", inbound.lead_recycle_warning_from_event)

    @event_handler("leads", "shangji.leads.v1.LeadRecycled")
    def on_lead_recycled(self, body: dict) -> None:
        def read(env: Envelope) -> EventEffects:
            stop = inbound.lead_stop_effects(env, leads_events.LeadRecycled)
            return EventEffects([inbound.lead_recycled_from_event(env)], stops=stop.stops)

        self._apply(body, "on_lead_recycled", read)

    # --- samples -------------------------------------------------------------------------------------
    @event_handler("samples", "shangji.samples.v1.SampleApprovalRequested")
    def on_sample_approval_requested(self, body: dict) -> None:
        self._notify(body, "on_sample_approval_requested", inbound.sample_approval_requested_from_event)

    @event_handler("samples", "shangji.samples.v1.SampleRequestApproved")
    def on_sample_approved(self, body: dict) -> None:
        self._notify(body, "on_sample_approved", inbound.sample_approved_from_event)

    @event_handler("samples", "shangji.samples.v1.SampleRequestRejected")
    def on_sample_rejected(self, body: dict) -> None:
        self._notify(body, "on_sample_rejected", inbound.sample_rejected_from_event)

    @event_handler("samples", "shangji.samples.v1.SampleFeedbackRaised")
    def on_sample_feedback_raised(self, body: dict) -> None:
        self._apply(body, "on_sample_feedback_raised", inbound.sample_feedback_effects)

    @event_handler("samples", "shangji.samples.v1.SampleRequestOwnerChanged")
    def on_sample_owner_changed(self, body: dict) -> None:
        self._notify(body, "on_sample_owner_changed", inbound.sample_owner_changed_from_event)

    # --- teams' organisation: managers and role holders (the kit's mixins), and email addresses ----------
    def record_org_user(self, delivery: Delivery, env: Envelope, user: OrgUser) -> None:
        raw = env.payload(org_events.user_event_type(env)).user
        organisation.record_user(delivery, self.uow(), user, raw.email, raw.display_name)
