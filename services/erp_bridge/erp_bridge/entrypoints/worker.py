"""The erp_bridge nameko worker: turns approved sample requests and won deals into ERP orders, retries due
orders on a timer, keeps teams' users (for the API's authorisation), and relays the outbox.

A handler records the job with the event's inbox claim, then works it at once; when the ERP is down the
job waits with its backoff and the timer picks it up, so an ERP outage never bounces events through the
broker's retry queues.
"""

from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from erp_bridge import bootstrap
from erp_bridge.domain.model import OrderRequest
from erp_bridge.entrypoints import inbound
from erp_bridge.service_layer import ordering
from shangji_kit.clock import utc_now
from shangji_kit.consumer import event_context, event_handler
from shangji_kit.envelope import Envelope
from shangji_kit.inbox import IdempotentUseCase
from shangji_kit.org_handlers import OrgUserEvents
from shangji_kit.settings import ErpSettings
from shangji_kit.worker import OutboxRelayRunner, UnitOfWorkProvider

_SCAN_SECONDS = ErpSettings.from_env().scan_seconds


class ErpProvider(DependencyProvider):
    """The ERP adapter (one login per process), the retry policy and the test-only fault hook."""

    def setup(self) -> None:
        settings = ErpSettings.from_env()
        self.erp = bootstrap.erp(settings)
        self.policy = bootstrap.retry_policy(settings)
        self.after_create = bootstrap.after_create(settings)

    def get_dependency(self, worker_ctx):
        return self


class ErpBridgeWorker(OrgUserEvents):
    name = "erp_bridge"
    relay = OutboxRelayRunner("erp_bridge")
    uow = UnitOfWorkProvider(bootstrap.uow_factory)
    erp = ErpProvider()

    def _order(self, record: IdempotentUseCase, env: Envelope, request: OrderRequest) -> None:
        if record(env, self.uow(), request):
            ordering.work_job(request.reference, self.erp.erp, self.erp.policy, utc_now, self.uow(),
                              after_create=self.erp.after_create)

    @event_handler("samples", "shangji.samples.v1.SampleRequestApproved")
    def on_sample_request_approved(self, body: dict) -> None:
        with event_context(body) as env:
            self._order(ordering.record_sample_approved, env, inbound.request_from_sample_approved(env))

    @event_handler("opportunities", "shangji.opportunities.v1.OpportunityWon")
    def on_opportunity_won(self, body: dict) -> None:
        with event_context(body) as env:
            self._order(ordering.record_opportunity_won, env, inbound.request_from_opportunity_won(env))

    @timer(interval=_SCAN_SECONDS)
    def work_due_orders(self) -> None:
        ordering.work_due(self.erp.erp, self.erp.policy, utc_now, self.uow, after_create=self.erp.after_create)
