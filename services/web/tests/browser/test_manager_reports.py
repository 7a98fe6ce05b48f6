"""A manager's charts in headless Chromium: the funnel the console draws for their department totals exactly
what the reporting RPC answers for the same department and period, and it counts the department's deals."""

from datetime import UTC, datetime

import grpc

from shangji.opportunities.v1 import reports_pb2, reports_pb2_grpc
from shangji.teams.v1 import teams_pb2
from shangji_kit.rpc.client import Caller
from shangji_kit.testing.wait import eventually

from .conftest import sign_in
from .test_rep_console import register


def test_a_managers_funnel_totals_equal_the_reporting_rpcs(page, console, person, suite, channels, artefacts):
    head = person("王强", roles=("sales_manager",))
    department = person.admin.CreateDepartment(teams_pb2.CreateDepartmentRequest(department=teams_pb2.Department(
        display_name=f"华南销售部 {head.user.id[:6]}", head=head.user.name)))
    reps = [person(name, department=department.name) for name in ("甲", "乙")]
    register(reps[0], "冲压线改造")
    register(reps[0], "模具管理系统")
    register(reps[1], "检测设备")
    register(person("部门外"), "别的部门")

    reports = Caller(reports_pb2_grpc.OpportunityReportsServiceStub(channels["opportunities"]), head.token)
    year = datetime.now(UTC).year
    request = reports_pb2.GetFunnelReportRequest(
        scope=reports_pb2.ReportScope(department=department.name),
        period=reports_pb2.ReportPeriod(start_date=f"{year}-01-01", end_date=f"{year}-12-31"))

    def open_count():
        try:
            stages = reports.GetFunnelReport(request).stages
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None  # opportunities has not heard of the new department from teams yet
            raise
        open_stages = [s for s in stages if s.category not in ("won", "lost")]
        total = sum(s.count for s in open_stages)
        return (open_stages, total) if total == 3 else None

    stages, count = eventually(open_count, timeout=30, what="the department's three deals in the funnel")
    amount = sum(float(s.amount or 0) for s in stages)

    sign_in(page, console, head)
    page.goto(console + "/#/reports")
    page.get_by_test_id("department").select_option(department.name)
    # six report calls behind this page: a generous wait on a busy machine, no timing asserted
    page.get_by_test_id("funnel-total-count").filter(has_text=str(count)).wait_for(timeout=90_000)
    assert page.get_by_test_id("funnel-total-amount").inner_text() == f"{amount:.2f}"
    page.get_by_test_id("funnel-chart").locator("svg").first.wait_for()
    page.screenshot(path=str(artefacts / "funnel.png"), full_page=True)
