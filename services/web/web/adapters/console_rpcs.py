"""The RPCs the console may call, by service: nothing else is reachable through the web backend.

An allow-list rather than a blanket proxy so the console's reach is reviewable in one place; what a
caller may do with each RPC is still decided by the service, with the caller's own token.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import descriptor_pool, message_factory

from shangji.leads.v1 import leads_pb2_grpc
from shangji.notify.v1 import notify_pb2_grpc
from shangji.opportunities.v1 import opportunities_pb2_grpc
from shangji.samples.v1 import samples_pb2_grpc
from shangji.teams.v1 import teams_pb2_grpc


@dataclass(frozen=True)
class ServiceRpcs:
    stub: type
    full_name: str
    methods: frozenset[str]

    def request_class(self, method: str) -> type:
        """The request message of ``method``, from the service's descriptor."""
        service = descriptor_pool.Default().FindServiceByName(self.full_name)
        return message_factory.GetMessageClass(service.methods_by_name[method].input_type)


CONSOLE_RPCS: dict[str, ServiceRpcs] = {
    "opportunities": ServiceRpcs(
        opportunities_pb2_grpc.OpportunitiesServiceStub, "shangji.opportunities.v1.OpportunitiesService", frozenset({
        "ListOpportunities", "GetOpportunity", "AdvanceStage", "ListPipelines", "GetPipeline",
        "ListStageHistory", "ListDecisionChain", "ListRequirements", "ListDocuments", "ListActivities",
        "ListMyTasks", "CompleteTask", "CompleteChecklistItem"})),
    "leads": ServiceRpcs(leads_pb2_grpc.LeadsServiceStub, "shangji.leads.v1.LeadsService", frozenset({
        "ListLeads", "GetLead", "ClaimLeads", "ReturnLead", "GetLeadSettings"})),
    "notify": ServiceRpcs(notify_pb2_grpc.NotifyServiceStub, "shangji.notify.v1.NotifyService", frozenset({
        "ListNotifications", "MarkNotificationRead"})),
    "teams": ServiceRpcs(teams_pb2_grpc.TeamsServiceStub, "shangji.teams.v1.TeamsService", frozenset({
        "GetUser", "GetOpportunityTeam", "ListDepartments", "GetDepartment"})),
    "samples": ServiceRpcs(samples_pb2_grpc.SamplesServiceStub, "shangji.samples.v1.SamplesService",
                           frozenset({"ListSampleRequests"})),
}

