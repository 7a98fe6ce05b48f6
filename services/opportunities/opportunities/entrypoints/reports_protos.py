"""Reports on the wire: requests to scopes, periods and commands; report results to messages (the only reports
module that imports reports_pb2)."""

from __future__ import annotations

from decimal import Decimal

from opportunities.domain import model, reporting
from opportunities.domain.reporting import Period, days_text, money, rate
from opportunities.service_layer import reports, targets
from opportunities.service_layer.report_scope import Scope, parse_scope
from shangji.opportunities.v1 import reports_pb2 as pb
from shangji_kit import names
from shangji_kit.errors import InvalidArgument

_PERIOD_TYPES = {pb.Target.MONTH: reporting.MONTH, pb.Target.QUARTER: reporting.QUARTER,
                 pb.Target.YEAR: reporting.YEAR}


def scope_from(request) -> Scope:
    return parse_scope(request.scope.department, request.scope.owner, request.scope.pipeline)


def period_from(request) -> Period:
    return reporting.parse_period(request.period.start_date, request.period.end_date)


def group_by_from(request, allowed: tuple[str, ...]) -> str:
    try:
        name = pb.ReportGranularity.Name(request.group_by) if request.group_by else ""
    except ValueError:
        name = str(request.group_by)
    return reports.granularity(name, allowed)


def _optional_money(value: Decimal | None) -> str:
    return "" if value is None else money(value)


def funnel_to_proto(f: reports.Funnel) -> pb.FunnelReport:
    return pb.FunnelReport(
        pipeline=names.format("pipelines", f.pipeline_id),
        stages=[pb.FunnelStage(stage=s.key, display_name=s.display_name, category=s.category, count=s.count,
                               amount=money(s.amount), entered=s.entered, advanced=s.advanced,
                               conversion_rate=rate(s.advanced, s.entered), average_days=days_text(s.average_days))
                for s in f.stages],
        sales_cycle=[pb.SalesCycleBucket(min_days=b.min_days, max_days=b.max_days or 0, count=b.count)
                     for b in f.cycle.buckets],
        won_count=f.cycle.won_count, average_cycle_days=days_text(f.cycle.average_days),
        median_cycle_days=days_text(f.cycle.median_days))


def _bucket(b: reports.ForecastBucket) -> pb.ForecastBucket:
    return pb.ForecastBucket(
        start_date=b.period.start.isoformat(), end_date=b.period.end.isoformat(), open_count=b.open_count,
        pipeline_amount=money(b.pipeline), weighted_amount=money(b.weighted), commit_amount=money(b.commit),
        best_case_amount=money(b.best_case), won_count=b.won_count, won_amount=money(b.won),
        target_amount=_optional_money(b.target), attainment="" if b.target is None else rate(b.won, b.target))


def forecast_to_proto(f: reports.Forecast) -> pb.ForecastReport:
    return pb.ForecastReport(buckets=[_bucket(b) for b in f.buckets], total=_bucket(f.total))


def snapshots_to_proto(rows: list[reports.Snapshot]) -> pb.ListForecastSnapshotsResponse:
    return pb.ListForecastSnapshotsResponse(snapshots=[pb.ForecastSnapshot(
        week_start=r.week_start.isoformat(), close_month=r.close_month.isoformat(), pipeline_amount=money(r.pipeline),
        weighted_amount=money(r.weighted), commit_amount=money(r.commit), best_case_amount=money(r.best_case),
        won_amount=money(r.won), error_amount=money(r.weighted - r.won)) for r in rows])


# --- targets ---------------------------------------------------------------------------------------------------

def subject_from(text: str, field: str) -> targets.Subject:
    if text.startswith("departments/"):
        return ("department", names.parse(text, "departments", field))
    if text.startswith("users/") or not text:
        return ("user", names.parse(text, "users", field))
    raise InvalidArgument.field(field, f"must be users/{{id}} or departments/{{id}}, got {text!r}")


def set_target_from(request: pb.SetTargetRequest) -> targets.SetTarget:
    t = request.target
    violations = []
    parsed = {}
    for key, parse in (("subject", lambda: subject_from(t.subject, "target.subject")),
                       ("period_type", lambda: _period_type(t.period_type)),
                       ("start", lambda: model.parse_date(t.start_date, "target.start_date")),
                       ("amount", lambda: model.parse_amount(t.amount, "target.amount"))):
        try:
            parsed[key] = parse()
        except InvalidArgument as exc:
            violations += exc.violations
    if not violations:
        for key, field in (("start", "target.start_date"), ("amount", "target.amount")):
            if parsed[key] is None:
                violations += InvalidArgument.field(field, "required").violations
    if violations:
        raise InvalidArgument(violations)
    return targets.SetTarget(**parsed)


def _period_type(value: int) -> str:
    if value not in _PERIOD_TYPES:
        raise InvalidArgument.field("target.period_type", "required: MONTH, QUARTER or YEAR")
    return _PERIOD_TYPES[value]


def target_to_proto(v: targets.TargetView) -> pb.Target:
    t = v.target
    period_type = {name: number for number, name in _PERIOD_TYPES.items()}[t.period_type]
    out = pb.Target(name=names.format("targets", t.id), subject=f"{t.subject_kind}s/{t.subject_id}",
                    period_type=period_type, start_date=t.start_date.isoformat(), end_date=t.end_date.isoformat(),
                    amount=money(t.amount), split_from=names.format("targets", t.split_from) if t.split_from else "",
                    set_by=names.format("users", t.set_by), won_amount=money(v.won), attainment=rate(v.won, t.amount))
    out.update_time.FromDatetime(t.update_time)
    return out


def shares_from(request: pb.SplitTargetRequest) -> list[tuple[str, Decimal]]:
    out = []
    for i, share in enumerate(request.shares):
        user_id = names.parse(share.subject, "users", f"shares[{i}].subject")
        amount = model.parse_amount(share.amount, f"shares[{i}].amount")
        if amount is None:
            raise InvalidArgument.field(f"shares[{i}].amount", "required")
        out.append((user_id, amount))
    return out


# --- win / loss, performance, incentive ------------------------------------------------------------------------

def _counts(tallies: dict[str, reports.Tally]) -> list[pb.ReportCount]:
    ordered = sorted(tallies.items(), key=lambda kv: (-(kv[1].won_count + kv[1].lost_count), kv[0]))
    return [pb.ReportCount(key=key, won_count=t.won_count, won_amount=money(t.won), lost_count=t.lost_count,
                           lost_amount=money(t.lost)) for key, t in ordered]


def win_loss_to_proto(w: reports.WinLoss) -> pb.WinLossReport:
    t = w.total
    return pb.WinLossReport(
        won_count=t.won_count, won_amount=money(t.won), lost_count=t.lost_count, lost_amount=money(t.lost),
        win_rate=rate(t.won_count, t.won_count + t.lost_count), reasons=_counts(w.reasons),
        competitors=_counts(w.competitors), lost_from_stage=_counts(w.lost_from_stage),
        product_lines=_counts(w.product_lines), sources=_counts(w.sources))


def lost_to_proto(page: reports.LostPage) -> pb.ListLostOpportunitiesResponse:
    out = pb.ListLostOpportunitiesResponse(next_page_token=page.next_page_token)
    for d in page.deals:
        item = out.opportunities.add(
            opportunity=names.format("opportunities", d.id), title=d.title, customer_company=d.customer_company,
            owner=names.format("users", d.owner_id), amount=money(d.amount), reason=d.reason,
            competitor=d.competitors[0] if d.competitors else "", lost_from_stage=d.lost_from_stage)
        item.lose_time.FromDatetime(d.close_time)
    return out


def source_value_to_proto(rows: list) -> pb.SourceValueReport:
    return pb.SourceValueReport(rows=[pb.SourceValueRow(
        source=r.source, registered=r.registered, won_count=r.won_count, won_amount=money(r.won),
        lost_count=r.lost_count, win_rate=rate(r.won_count, r.won_count + r.lost_count),
        won_from_leads=r.won_from_leads, won_from_leads_amount=money(r.won_from_leads_amount),
        won_direct=r.won_direct, won_direct_amount=money(r.won_direct_amount)) for r in rows])


def performance_to_proto(p: reports.RepPerformance) -> pb.RepPerformanceReport:
    return pb.RepPerformanceReport(
        rows=[pb.RepPerformanceRow(owner=names.format("users", r.owner_id), start_date=r.start.isoformat(),
                                   registered=r.registered, advanced=r.advanced, won_count=r.won_count,
                                   won_amount=money(r.won), lost_count=r.lost_count) for r in p.rows],
        missed_close_dates=[pb.RepMissedCloseDates(owner=names.format("users", owner), overdue=overdue,
                                                   stalled=stalled) for owner, overdue, stalled in p.missed])


def incentive_to_proto(lines: list[reports.IncentiveLine], totals: list[reports.IncentiveTotal]
                       ) -> pb.IncentiveBasis:
    return pb.IncentiveBasis(
        lines=[pb.IncentiveLine(opportunity=names.format("opportunities", x.row.id),
                                owner=names.format("users", x.row.owner_id), win_date=x.row.win_date.isoformat(),
                                amount=money(x.row.amount), currency=x.row.currency,
                                difficulty=format(x.row.difficulty.normalize(), "f"), basis=money(x.basis),
                                new_customer=x.row.new_customer, new_product=x.row.new_product) for x in lines],
        totals=[pb.IncentiveTotal(owner=names.format("users", t.owner_id), won_amount=money(t.won),
                                  basis=money(t.basis), new_customer_deals=t.new_customer_deals,
                                  new_product_deals=t.new_product_deals) for t in totals])
