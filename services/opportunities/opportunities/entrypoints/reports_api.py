"""OpportunityReportsService on the opportunities front: translate, call the report use cases, translate back."""

from __future__ import annotations

import grpc

from opportunities import bootstrap
from opportunities.domain import reporting
from opportunities.entrypoints import reports_protos as pm
from opportunities.service_layer import reports, targets
from shangji.opportunities.v1 import reports_pb2_grpc
from shangji_kit import auth, names
from shangji_kit.settings import Settings

SERVICE = "shangji.opportunities.v1.OpportunityReportsService"
_FORECAST = (reporting.MONTH, reporting.QUARTER)
_PERFORMANCE = (reporting.WEEK, reporting.MONTH)


def _caller() -> str:
    return auth.principal().user_id


class OpportunityReportsApi(reports_pb2_grpc.OpportunityReportsServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def GetFunnelReport(self, request, context):
        return pm.funnel_to_proto(reports.funnel(pm.scope_from(request), pm.period_from(request), _caller(),
                                                 self.uow()))

    def GetForecastReport(self, request, context):
        scope, period, group_by = pm.scope_from(request), pm.period_from(request), pm.group_by_from(request, _FORECAST)
        return pm.forecast_to_proto(reports.forecast(scope, period, group_by, _caller(), self.uow()))

    def ListForecastSnapshots(self, request, context):
        return pm.snapshots_to_proto(reports.forecast_snapshots(pm.scope_from(request), pm.period_from(request),
                                                                _caller(), self.uow()))

    def SetTarget(self, request, context):
        return pm.target_to_proto(targets.set_target(pm.set_target_from(request), _caller(), self.uow()))

    def ListTargets(self, request, context):
        period = pm.period_from(request)
        subject = pm.subject_from(request.subject, "subject") if request.subject else None
        return pm.pb.ListTargetsResponse(targets=[pm.target_to_proto(v) for v in targets.list_targets(
            period, subject, _caller(), self.uow())])

    def SplitTarget(self, request, context):
        target_id = names.parse(request.name, "targets")
        views = targets.split_target(target_id, pm.shares_from(request), _caller(), self.uow())
        return pm.pb.SplitTargetResponse(targets=[pm.target_to_proto(v) for v in views])

    def GetWinLossReport(self, request, context):
        return pm.win_loss_to_proto(reports.win_loss(pm.scope_from(request), pm.period_from(request), _caller(),
                                                     self.uow()))

    def ListLostOpportunities(self, request, context):
        return pm.lost_to_proto(reports.lost_opportunities(
            pm.scope_from(request), pm.period_from(request), request.page_size, request.page_token, _caller(),
            self.uow()))

    def GetSourceValueReport(self, request, context):
        return pm.source_value_to_proto(reports.source_value(pm.scope_from(request), pm.period_from(request),
                                                             _caller(), self.uow()))

    def GetRepPerformanceReport(self, request, context):
        scope, period = pm.scope_from(request), pm.period_from(request)
        group_by = pm.group_by_from(request, _PERFORMANCE)
        return pm.performance_to_proto(reports.rep_performance(scope, period, group_by, _caller(), self.uow()))

    def GetIncentiveBasis(self, request, context):
        return pm.incentive_to_proto(*reports.incentive_basis(pm.scope_from(request), pm.period_from(request),
                                                              _caller(), self.uow()))


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    reports_pb2_grpc.add_OpportunityReportsServiceServicer_to_server(
        OpportunityReportsApi(bootstrap.reports_uow_factory(settings)), grpc_server)
    return [SERVICE]
