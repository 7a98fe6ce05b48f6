"""LeadReportsService on the leads front: translate, call the report use case, translate back."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import grpc

from leads import bootstrap
from leads.domain import attribution
from leads.service_layer import reports
from shangji.leads.v1 import reports_pb2 as pb
from shangji.leads.v1 import reports_pb2_grpc
from shangji_kit import auth, names, periods
from shangji_kit.errors import InvalidArgument
from shangji_kit.settings import Settings

SERVICE = "shangji.leads.v1.LeadReportsService"
_GROUP_BY = {pb.LEAD_REPORT_GRANULARITY_UNSPECIFIED: periods.MONTH, pb.LEAD_REPORT_GRANULARITY_MONTH: periods.MONTH,
             pb.LEAD_REPORT_GRANULARITY_WEEK: periods.WEEK}


_MODELS = {pb.FIRST_TOUCH: attribution.FIRST_TOUCH, pb.LAST_TOUCH: attribution.LAST_TOUCH,
           pb.U_SHAPED: attribution.U_SHAPED}


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _seconds(value: float | None) -> str:
    return "" if value is None else str(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


class LeadReportsApi(reports_pb2_grpc.LeadReportsServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def GetRepActivityReport(self, request, context):
        period = periods.parse_period(request.period.start_date, request.period.end_date)
        if request.group_by not in _GROUP_BY:
            raise InvalidArgument.field("group_by", "WEEK or MONTH")
        department = names.parse(request.department, "departments", "department") if request.department else None
        owner = names.parse(request.owner, "users", "owner") if request.owner else None
        rows = reports.rep_activity(period, _GROUP_BY[request.group_by], department, owner,
                                    auth.principal().user_id, self.uow())
        return pb.RepActivityReport(rows=[pb.RepActivityRow(
            owner=names.format("users", r.owner_id), start_date=r.start.isoformat(), new_leads=r.new_leads,
            follow_ups=r.follow_ups, first_responses=r.first_responses,
            average_first_response_seconds=_seconds(r.average_first_response_seconds)) for r in rows])


    def GetAttributionReport(self, request, context):
        period = periods.parse_period(request.period.start_date, request.period.end_date)
        if request.model not in _MODELS:
            raise InvalidArgument.field("model", "required: FIRST_TOUCH, LAST_TOUCH or U_SHAPED")
        report = reports.attribution(period, _MODELS[request.model], auth.principal().user_id, self.uow())
        return pb.AttributionReport(
            model=request.model, unattributed_amount=_money(report.unattributed), won_amount=_money(report.won),
            rows=[pb.AttributionRow(campaign=names.format("campaigns", campaign_id), display_name=name, deals=deals,
                                    attributed_amount=_money(amount))
                  for campaign_id, name, deals, amount in report.rows])


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    reports_pb2_grpc.add_LeadReportsServiceServicer_to_server(
        LeadReportsApi(bootstrap.reports_uow_factory(settings)), grpc_server)
    return [SERVICE]
