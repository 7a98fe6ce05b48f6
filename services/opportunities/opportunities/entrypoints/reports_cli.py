"""The funnel and the forecast in a terminal, as text charts, read through the reports API as the caller.

    python -m opportunities.entrypoints.reports_cli funnel --start 2026-11-01 --end 2026-11-30
    python -m opportunities.entrypoints.reports_cli forecast --start 2026-12-01 --end 2027-05-31 [--quarter]

Options: ``--department departments/{id}``, ``--owner users/{id}``, ``--pipeline pipelines/{id}``;
``--target`` (default 127.0.0.1:SHANGJI_OPPORTUNITIES_GRPC_PORT), ``--token`` (default $SHANGJI_TOKEN, as
``python -m shangji_kit.admin token <user-id>`` prints it). The figures are the API's: what the caller may see.
"""

from __future__ import annotations

import argparse
import os
import sys
import unicodedata
from decimal import Decimal

import grpc

from shangji.opportunities.v1 import reports_pb2 as pb
from shangji.opportunities.v1 import reports_pb2_grpc
from shangji_kit.rpc.client import Caller
from shangji_kit.settings import Settings

BAR = "█"
WIDTH = 40


def width(text: str) -> int:
    """Columns the text takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(columns - width(text), 0)


def bar(value: Decimal, top: Decimal, columns: int = WIDTH) -> str:
    """A bar of ``value`` against ``top``; anything above zero shows at least one block."""
    if top <= 0 or value <= 0:
        return ""
    return BAR * max(1, round(columns * value / top))


def funnel_chart(report: pb.FunnelReport) -> str:
    """Stages top to bottom: deals now (bar by count), amount, conversion to a later stage and days in stage."""
    names = [f"{s.display_name} ({s.stage})" for s in report.stages]
    label = max((width(n) for n in names), default=0)
    top = Decimal(max((s.count for s in report.stages), default=0))
    lines = [f"{pad('stage', label)}  {pad('deals now', WIDTH)}  {'count':>6}  {'amount':>14}  {'conv.':>6}  days"]
    for name, s in zip(names, report.stages, strict=True):
        conversion = f"{Decimal(s.conversion_rate) * 100:.0f}%" if s.conversion_rate else "-"
        lines.append(f"{pad(name, label)}  {pad(bar(Decimal(s.count), top), WIDTH)}  {s.count:>6}  {s.amount:>14}"
                     f"  {conversion:>6}  {s.average_days or '-'}")
    lines.append("")
    lines.append(f"sales cycle of {report.won_count} deals won (days from registration to win): "
                 f"average {report.average_cycle_days or '-'}, median {report.median_cycle_days or '-'}")
    top = Decimal(max((b.count for b in report.sales_cycle), default=0))
    for b in report.sales_cycle:
        span = f"{b.min_days}-{b.max_days}" if b.max_days else f"{b.min_days}+"
        lines.append(f"  {span:>8}  {pad(bar(Decimal(b.count), top), WIDTH)}  {b.count}")
    return "\n".join(lines)


def forecast_chart(report: pb.ForecastReport) -> str:
    """One row per month or quarter: the weighted amount as a bar (commit part darker), then the figures."""
    amounts = [Decimal(b.best_case_amount) for b in report.buckets] + [Decimal(b.weighted_amount)
                                                                        for b in report.buckets]
    top = max(amounts, default=Decimal(0))
    lines = [f"{'period':<10}  {pad('weighted (▓ commit)', WIDTH)}  {'weighted':>14}  {'commit':>14}  "
             f"{'best case':>14}  {'won':>14}  {'target':>14}  attained"]
    for b in report.buckets:
        weighted, commit = Decimal(b.weighted_amount), Decimal(b.commit_amount)
        full = bar(weighted, top)
        dark = min(len(bar(commit, top)), len(full))
        chart = "▓" * dark + full[dark:]
        attained = f"{Decimal(b.attainment) * 100:.0f}%" if b.attainment else "-"
        lines.append(f"{b.start_date[:7]:<10}  {pad(chart, WIDTH)}  {b.weighted_amount:>14}  {b.commit_amount:>14}  "
                     f"{b.best_case_amount:>14}  {b.won_amount:>14}  {b.target_amount or '-':>14}  {attained}")
    t = report.total
    lines.append(f"{'total':<10}  {'':<{WIDTH}}  {t.weighted_amount:>14}  {t.commit_amount:>14}  "
                 f"{t.best_case_amount:>14}  {t.won_amount:>14}  {t.target_amount or '-':>14}")
    return "\n".join(lines)


def main(argv: list[str] | None = None, out=None) -> int:
    parser = argparse.ArgumentParser(prog="reports_cli", description=__doc__.split("\n")[0])
    parser.add_argument("report", choices=("funnel", "forecast"))
    parser.add_argument("--start", required=True)
    parser.add_argument("--end", required=True)
    parser.add_argument("--quarter", action="store_true", help="forecast by quarter instead of month")
    parser.add_argument("--department", default="")
    parser.add_argument("--owner", default="")
    parser.add_argument("--pipeline", default="")
    parser.add_argument("--target", default="")
    parser.add_argument("--token", default=os.environ.get("SHANGJI_TOKEN", ""))
    args = parser.parse_args(argv)
    target = args.target or f"127.0.0.1:{Settings.for_service('opportunities').grpc_port}"
    scope = pb.ReportScope(department=args.department, owner=args.owner, pipeline=args.pipeline)
    period = pb.ReportPeriod(start_date=args.start, end_date=args.end)
    with grpc.insecure_channel(target) as channel:
        api = Caller(reports_pb2_grpc.OpportunityReportsServiceStub(channel), args.token or None)
        try:
            if args.report == "funnel":
                text = funnel_chart(api.GetFunnelReport(pb.GetFunnelReportRequest(scope=scope, period=period)))
            else:
                text = forecast_chart(api.GetForecastReport(pb.GetForecastReportRequest(
                    scope=scope, period=period, group_by=pb.QUARTER if args.quarter else pb.MONTH)))
        except grpc.RpcError as exc:
            print(f"{exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
    print(text, file=out or sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
