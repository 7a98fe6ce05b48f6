"""The other services' parts of a customer's timeline: opportunities' and samples' ListCustomerTimeline, asked at
once over gRPC with the caller's own token (so each applies its own visibility to the caller) and a short deadline. A
source that fails or does not answer in time is named, not raised: the customer 360 answers without it."""

from __future__ import annotations

from datetime import UTC

import grpc

from leads.domain import timeline
from leads.domain.timeline import SourcePage
from shangji.opportunities.v1 import opportunities_pb2, opportunities_pb2_grpc
from shangji.samples.v1 import samples_pb2, samples_pb2_grpc
from shangji_kit import log
from shangji_kit.rpc import client
from shangji_kit.timeline_token import Item

# Short: the page waits for the slowest source, and a source that is down should cost a moment, not the caller's
# whole deadline.
DEADLINE_SECONDS = 2.0

_APIS = {timeline.OPPORTUNITIES: (opportunities_pb2_grpc.OpportunitiesServiceStub, opportunities_pb2),
         timeline.SAMPLES: (samples_pb2_grpc.SamplesServiceStub, samples_pb2)}

_log = log.get(__name__)


def _item(source: str, i) -> Item:
    return Item(source=source, kind=i.kind, resource=i.resource, title=i.title, summary=i.summary,
                actor=i.actor, event_time=i.event_time.ToDatetime(tzinfo=UTC), opportunity=i.opportunity, lead=i.lead)


class RemoteSources:
    """Asks every remote source for one page of a customer's timeline as the holder of ``token``."""

    def __init__(self, token: str | None, correlation_id: str | None = None, *,
                 deadline: float = DEADLINE_SECONDS) -> None:
        self._metadata = client.metadata(token, correlation_id)
        self._deadline = deadline

    def pages(self, customer_id: str, page_size: int, page_token: str) -> tuple[list[SourcePage], list[str]]:
        """Each source's page after ``page_token`` (the pages that came), and the sources that did not answer."""
        calls = {}
        for source, (stub_class, messages) in _APIS.items():
            stub = stub_class(client.shared_channel(source))
            request = messages.ListCustomerTimelineRequest(customer=f"customers/{customer_id}", page_size=page_size,
                                                           page_token=page_token)
            # Futures: the sources answer side by side, so the page waits for the slowest, not for the sum.
            calls[source] = stub.ListCustomerTimeline.future(request, timeout=self._deadline, metadata=self._metadata)
        pages, unavailable = [], []
        for source, call in calls.items():
            try:
                reply = call.result()
            except grpc.RpcError as exc:
                _log.warning("customer timeline: %s did not answer (%s)", source, exc.code().name,
                             extra=log.fields(source=source, code=exc.code().name))
                unavailable.append(source)
                continue
            pages.append(SourcePage(source, [_item(source, i) for i in reply.items], bool(reply.next_page_token)))
        return pages, unavailable
