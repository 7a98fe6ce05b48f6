"""Asking the opportunities service about a deal, with the caller's own credentials (so its visibility rules
decide what the caller may request samples for)."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from samples.domain.model import OpportunityFacts
from shangji.opportunities.v1 import opportunities_pb2, opportunities_pb2_grpc
from shangji_kit.errors import NotFound, Unauthenticated, Unavailable
from shangji_kit.rpc.client import Caller, shared_channel

DEADLINE_SECONDS = 3.0


def lookup_for(token: str | None, correlation_id: str | None = None, target: str | None = None
               ) -> Callable[[str], OpportunityFacts]:
    """A lookup calling GetOpportunity as the holder of ``token``."""
    stub = opportunities_pb2_grpc.OpportunitiesServiceStub(shared_channel("opportunities", target))
    caller = Caller(stub, token, deadline=DEADLINE_SECONDS)

    def lookup(opportunity_id: str) -> OpportunityFacts:
        try:
            reply = caller.GetOpportunity(
                opportunities_pb2.GetOpportunityRequest(name=f"opportunities/{opportunity_id}"),
                correlation_id=correlation_id)
        except grpc.RpcError as exc:
            code = exc.code()
            if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                        grpc.StatusCode.INVALID_ARGUMENT):
                raise NotFound("opportunity", reason="OPPORTUNITY_NOT_FOUND") from exc
            if code == grpc.StatusCode.UNAUTHENTICATED:
                raise Unauthenticated("the opportunities service refused the caller's token") from exc
            raise Unavailable(f"the opportunities service did not answer ({code.name}); retry",
                              reason="OPPORTUNITIES_UNAVAILABLE") from exc
        return OpportunityFacts(customer_company=reply.customer_company, customer=reply.customer,
                                stage_category=reply.stage_category)

    return lookup
