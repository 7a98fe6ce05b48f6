"""The RPCs the console may call, by API: nothing else is reachable through the web backend.

An allow-list rather than a blanket proxy so the console's reach is reviewable in one place; what a
caller may do with each RPC is still decided by the service, with the caller's own token. Entries are
data (module and service names): the generated module is imported on first use, so an API whose
protos a build does not carry answers UNIMPLEMENTED instead of breaking the console.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import MethodDescriptor


@dataclass(frozen=True)
class ConsoleApi:
    service: str  # the suite service whose front serves it
    module: str  # the generated module that declares it
    full_name: str
    methods: frozenset[str]

    def method(self, name: str) -> MethodDescriptor:
        """The method's descriptor; ModuleNotFoundError when this build has no such protos."""
        importlib.import_module(self.module)
        return descriptor_pool.Default().FindServiceByName(self.full_name).methods_by_name[name]


def _api(service: str, module: str, full_name: str, *methods: str) -> ConsoleApi:
    return ConsoleApi(service, module, full_name, frozenset(methods))


CONSOLE_APIS: dict[str, ConsoleApi] = {
    "opportunities": _api(
        "opportunities", "shangji.opportunities.v1.opportunities_pb2",
        "shangji.opportunities.v1.OpportunitiesService",
        "ListOpportunities", "GetOpportunity", "AdvanceStage", "ListPipelines", "GetPipeline", "ListStageHistory",
        "ListDecisionChain", "ListRequirements", "ListDocuments", "ListActivities", "ListMyTasks", "CompleteTask",
        "CompleteChecklistItem"),
    "opportunity_reports": _api(
        "opportunities", "shangji.opportunities.v1.reports_pb2", "shangji.opportunities.v1.OpportunityReportsService",
        "GetFunnelReport", "GetForecastReport", "GetWinLossReport", "ListTargets"),
    "leads": _api(
        "leads", "shangji.leads.v1.leads_pb2", "shangji.leads.v1.LeadsService",
        "ListLeads", "GetLead", "ClaimLeads", "ReturnLead", "GetLeadSettings"),
    "notify": _api(
        "notify", "shangji.notify.v1.notify_pb2", "shangji.notify.v1.NotifyService",
        "ListNotifications", "MarkNotificationRead"),
    "teams": _api(
        "teams", "shangji.teams.v1.teams_pb2", "shangji.teams.v1.TeamsService",
        "GetUser", "GetOpportunityTeam", "ListDepartments", "GetDepartment"),
    "samples": _api(
        "samples", "shangji.samples.v1.samples_pb2", "shangji.samples.v1.SamplesService", "ListSampleRequests"),
}
