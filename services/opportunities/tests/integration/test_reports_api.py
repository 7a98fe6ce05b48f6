"""Every report over a known set of deals across a department tree, through the gRPC front, as a department
head, a rep, a team member and sales_ops; figures worked out by hand from the seed below. Times are UTC; the
company's zone is Asia/Shanghai (+08:00), and two deals sit on the edges of November there: B1 registered at
2026-10-31T17:00Z (1 November in Shanghai) and B3 at 2026-11-30T16:30Z (1 December in Shanghai).

    Sales (head H)
    ├── East (head E; members E, A, B)
    └── West (head W; member C)
    S: sales_ops, no department. T: no department, on C1's team.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.field_mask_pb2 import FieldMask

from opportunities import bootstrap
from opportunities.adapters import reports_queries
from opportunities.adapters.orm import opportunities, stage_history
from opportunities.adapters.reports_tables import win_reasons
from opportunities.domain.reporting import Period
from opportunities.entrypoints import reports_cli
from opportunities.service_layer import reports
from opportunities.service_layer.report_scope import Scope
from shangji.opportunities.v1 import opportunities_pb2 as opb
from shangji.opportunities.v1 import reports_pb2 as pb
from shangji.opportunities.v1 import reports_pb2_grpc
from shangji_kit.rpc.client import Caller
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing import databases


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)


@dataclass(frozen=True)
class Deal:
    key: str
    owner: str
    stage: str
    amount: str
    created: str
    history: tuple[tuple[str, str], ...]  # (stage, enter time); the last is the current stay
    close: str | None = None
    probability: int | None = None
    win_date: str | None = None
    lost_reason: str = ""
    lost_competitor: str = ""
    win_reason: str = ""
    beaten: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    source: str = ""
    customer_key: str = ""
    difficulty: str = "1"
    from_lead: bool = False


DEALS = (
    Deal("A1", "A", "negotiation", "100000", "2026-11-02T02:00:00",
         (("discover", "2026-11-02T02:00:00"), ("validate", "2026-11-05T02:00:00"),
          ("negotiation", "2026-11-20T02:00:00")), close="2026-12-15"),
    Deal("A2", "A", "discover", "20000", "2026-11-10T02:00:00", (("discover", "2026-11-10T02:00:00"),),
         close="2027-01-10", probability=50),
    Deal("A3", "A", "won", "50000", "2026-10-01T02:00:00",
         (("discover", "2026-10-01T02:00:00"), ("proposal", "2026-11-03T02:00:00"), ("won", "2026-11-25T02:00:00")),
         win_date="2026-11-25", win_reason="价格", beaten=("Acme",), product_lines=("ERP",), source="展会",
         customer_key="k1", difficulty="1.5", from_lead=True),
    Deal("B1", "B", "lost", "30000", "2026-10-31T17:00:00",
         (("discover", "2026-10-31T17:00:00"), ("validate", "2026-11-08T02:00:00"), ("lost", "2026-11-15T02:00:00")),
         lost_reason="预算不足", lost_competitor="Acme", product_lines=("ERP", "MES"), source="官网"),
    Deal("B2", "B", "proposal", "40000", "2026-11-12T02:00:00",
         (("discover", "2026-11-12T02:00:00"), ("proposal", "2026-11-18T02:00:00")), close="2026-12-20"),
    Deal("B3", "B", "discover", "5000", "2026-11-30T16:30:00", (("discover", "2026-11-30T16:30:00"),),
         close="2027-01-20"),
    Deal("C1", "C", "validate", "60000", "2026-11-03T02:00:00",
         (("discover", "2026-11-03T02:00:00"), ("validate", "2026-11-04T02:00:00")), close="2027-02-01"),
    Deal("C2", "C", "won", "80000", "2026-11-08T02:00:00",
         (("discover", "2026-11-08T02:00:00"), ("won", "2026-11-28T02:00:00")), win_date="2026-11-28",
         product_lines=("MES",), customer_key="k2", source="官网"),
    Deal("H1", "H", "discover", "10000", "2026-09-01T02:00:00", (("discover", "2026-09-01T02:00:00"),),
         close="2026-10-01"),
    Deal("H2", "H", "won", "1000", "2026-05-01T02:00:00",
         (("discover", "2026-05-01T02:00:00"), ("won", "2026-06-01T02:00:00")), win_date="2026-06-01",
         product_lines=("ERP",), customer_key="k2"),
)


@dataclass
class World:
    users: dict[str, str] = field(default_factory=dict)  # letter -> user id
    departments: dict[str, str] = field(default_factory=dict)  # Sales, East, West -> id
    deals: dict[str, str] = field(default_factory=dict)  # key -> deal id
    pipeline_id: str = ""

    def user(self, letter: str) -> str:
        return f"users/{self.users[letter]}"


def seed(org, url: str) -> World:
    w = World()
    w.users = {letter: str(uuid.uuid4()) for letter in "HEWABCST"}
    sales = org.department(parent=None, head=w.users["H"])
    east = org.department(parent=sales, head=w.users["E"])
    west = org.department(parent=sales, head=w.users["W"])
    w.departments = {"Sales": sales, "East": east, "West": west}
    where = {"H": sales, "E": east, "A": east, "B": east, "W": west, "C": west, "S": None, "T": None}
    for letter, user_id in w.users.items():
        org.user(user_id, department=where[letter], roles=("sales_ops",) if letter == "S" else ("sales_rep",))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        w.pipeline_id, version = conn.execute(sa.text(
            "SELECT p.id, p.version FROM pipelines p WHERE p.is_default")).one()
        for d in DEALS:
            deal_id = str(uuid.uuid4())
            w.deals[d.key] = deal_id
            owner = w.users[d.owner]
            conn.execute(opportunities.insert().values(
                id=deal_id, title=f"商机 {d.key}", customer_company=f"客户 {d.key}", owner_id=owner,
                registrant_id=owner, pipeline_id=w.pipeline_id, pipeline_version=version, stage_key=d.stage,
                version=1, create_time=t(d.created), update_time=t(d.history[-1][1]), amount=Decimal(d.amount),
                currency="CNY", expected_close_date=date.fromisoformat(d.close) if d.close else None,
                probability=d.probability, stage_enter_time=t(d.history[-1][1]),
                win_date=date.fromisoformat(d.win_date) if d.win_date else None, lost_reason=d.lost_reason,
                lost_competitor=d.lost_competitor, product_lines=list(d.product_lines), source=d.source,
                customer_key=d.customer_key, difficulty=Decimal(d.difficulty),
                lead_id=str(uuid.uuid4()) if d.from_lead else None))
            for i, (stage, enter) in enumerate(d.history):
                leave = d.history[i + 1][1] if i + 1 < len(d.history) else None
                conn.execute(stage_history.insert().values(opportunity_id=deal_id, stage_key=stage,
                                                           enter_time=t(enter), exit_time=leave and t(leave)))
            if d.win_date:
                conn.execute(win_reasons.insert().values(opportunity_id=deal_id, reason=d.win_reason,
                                                         competitors_beaten=list(d.beaten),
                                                         win_time=t(d.history[-1][1])))
    engine.dispose()
    org.add_member(f"opportunities/{w.deals['C1']}", w.users["T"])
    return w


# --- fixtures ------------------------------------------------------------------------------------------------

@pytest.fixture
def world(shangji_env, org) -> World:
    url = Settings.for_service("opportunities").database_url
    databases.truncate_all(url, keep=databases.seeded_tables("opportunities"))
    return seed(org, url)


@pytest.fixture
def report_as(front, token_for, world):
    """``report_as(letter)``: the reports API called as that person of the world."""
    channel = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    stub = reports_pb2_grpc.OpportunityReportsServiceStub(channel)
    yield lambda letter: Caller(stub, token_for(world.users[letter]))
    channel.close()


NOVEMBER = pb.ReportPeriod(start_date="2026-11-01", end_date="2026-11-30")
WINTER = pb.ReportPeriod(start_date="2026-12-01", end_date="2027-03-31")


def stages(report: pb.FunnelReport) -> dict[str, tuple]:
    return {s.stage: (s.count, s.amount, s.entered, s.advanced, s.conversion_rate, s.average_days)
            for s in report.stages}


def bad_request(exc: grpc.RpcError) -> list[str]:
    return details_of(exc)["fields"]


# --- funnel --------------------------------------------------------------------------------------------------

def test_funnel_of_a_department_head_counts_their_tree_in_company_days(report_as):
    report = report_as("E").GetFunnelReport(pb.GetFunnelReportRequest(period=NOVEMBER))
    got = stages(report)
    # Now: A2 + B3 in discover, A1 in negotiation, B2 in proposal, A3 won, B1 lost.
    # Entered in November (Shanghai days): discover A1 A2 B1 B2 (B1 at 01:00 on the 1st; B3 is December),
    # of which A1, B1, B2 went on; validate A1 B1 (B1 then lost: not onward); proposal A3 B2 (A3 won).
    # Stays ended in November: discover 3 (A1), 33 (A3), 7.375 (B1), 6 (B2) days; validate 15 (A1), 7 (B1).
    assert got["discover"] == (2, "25000.00", 4, 3, "0.7500", "12.34")
    assert got["validate"] == (0, "0.00", 2, 1, "0.5000", "11.00")
    assert got["proposal"] == (1, "40000.00", 2, 1, "0.5000", "22.00")
    assert got["negotiation"] == (1, "100000.00", 1, 0, "0.0000", "")
    assert got["won"] == (1, "50000.00", 1, 0, "0.0000", "")
    assert got["lost"] == (1, "30000.00", 1, 0, "0.0000", "")
    assert got["analyse"] == (0, "0.00", 0, 0, "", "")
    assert [s.stage for s in report.stages][:2] == ["discover", "validate"]
    # A3: registered 1 October (Shanghai), won 25 November: 55 days.
    assert [(b.min_days, b.max_days, b.count) for b in report.sales_cycle] == [
        (0, 30, 0), (31, 60, 1), (61, 90, 0), (91, 180, 0), (181, 0, 0)]
    assert (report.won_count, report.average_cycle_days, report.median_cycle_days) == (1, "55.00", "55.00")


def test_funnel_of_a_rep_a_team_member_and_sales_ops(report_as, world):
    rep = stages(report_as("A").GetFunnelReport(pb.GetFunnelReportRequest(period=NOVEMBER)))
    assert {k: v[:2] for k, v in rep.items() if v[0]} == {
        "discover": (1, "20000.00"), "negotiation": (1, "100000.00"), "won": (1, "50000.00")}
    member = stages(report_as("T").GetFunnelReport(pb.GetFunnelReportRequest(period=NOVEMBER)))
    assert {k: v[:4] for k, v in member.items() if v[0] or v[2]} == {
        "discover": (0, "0.00", 1, 1), "validate": (1, "60000.00", 1, 0)}
    everyone = report_as("S").GetFunnelReport(pb.GetFunnelReportRequest(period=NOVEMBER))
    assert sum(s.count for s in everyone.stages) == 10
    assert stages(everyone)["won"][:2] == (3, "131000.00")
    assert everyone.won_count == 2  # A3 and C2 in November; H2 in June
    west = report_as("S").GetFunnelReport(pb.GetFunnelReportRequest(
        period=NOVEMBER, scope=pb.ReportScope(department=f"departments/{world.departments['West']}")))
    assert sum(s.count for s in west.stages) == 2
    # A rep naming someone else's department sees nothing more than before: only what they may open.
    nosy = report_as("A").GetFunnelReport(pb.GetFunnelReportRequest(
        period=NOVEMBER, scope=pb.ReportScope(department=f"departments/{world.departments['West']}")))
    assert sum(s.count for s in nosy.stages) == 0


# --- forecast and targets ------------------------------------------------------------------------------------

def test_forecast_by_month_against_the_departments_targets(report_as, world):
    east = f"departments/{world.departments['East']}"
    report_as("E").SetTarget(pb.SetTargetRequest(target=pb.Target(
        subject=east, period_type=pb.Target.QUARTER, start_date="2026-10-01", amount="300000")))
    report_as("S").SetTarget(pb.SetTargetRequest(target=pb.Target(
        subject=east, period_type=pb.Target.MONTH, start_date="2027-01-01", amount="50000")))
    report = report_as("E").GetForecastReport(pb.GetForecastReportRequest(
        period=WINTER, scope=pb.ReportScope(department=east)))
    rows = [(b.start_date, b.open_count, b.pipeline_amount, b.weighted_amount, b.commit_amount, b.best_case_amount,
             b.target_amount) for b in report.buckets]
    # December: A1 100000 at 80% (commit), B2 40000 at 60%. January: A2 20000 at its override 50%, B3 5000 at 5%.
    assert rows == [
        ("2026-12-01", 2, "140000.00", "104000.00", "100000.00", "140000.00", "100000.00"),
        ("2027-01-01", 2, "25000.00", "10250.00", "0.00", "20000.00", "50000.00"),
        ("2027-02-01", 0, "0.00", "0.00", "0.00", "0.00", ""),
        ("2027-03-01", 0, "0.00", "0.00", "0.00", "0.00", "")]
    assert (report.total.open_count, report.total.weighted_amount, report.total.target_amount) == (
        4, "114250.00", "150000.00")
    quarters = report_as("S").GetForecastReport(pb.GetForecastReportRequest(
        period=WINTER, group_by=pb.QUARTER))
    assert [(b.start_date, b.end_date, b.open_count, b.weighted_amount) for b in quarters.buckets] == [
        ("2026-10-01", "2026-12-31", 3, "104500.00"),  # whole quarters: H1 (October, 10000 at 5%) too
        ("2027-01-01", "2027-03-31", 3, "16250.00"),  # C1 60000 at 10% in February
    ]
    assert quarters.buckets[0].won_count == 2 and quarters.buckets[0].won_amount == "130000.00"
    member = report_as("T").GetForecastReport(pb.GetForecastReportRequest(period=WINTER))
    assert member.total.pipeline_amount == "60000.00"


def test_targets_set_by_the_head_split_to_members_with_attainment(report_as, world):
    east = f"departments/{world.departments['East']}"
    target = report_as("E").SetTarget(pb.SetTargetRequest(target=pb.Target(
        subject=east, period_type=pb.Target.QUARTER, start_date="2026-10-01", amount="300000")))
    assert (target.end_date, target.won_amount, target.attainment) == ("2026-12-31", "50000.00", "0.1667")
    again = report_as("E").SetTarget(pb.SetTargetRequest(target=pb.Target(
        subject=east, period_type=pb.Target.QUARTER, start_date="2026-10-01", amount="300000.01")))
    assert again.name == target.name and again.amount == "300000.01"
    split = report_as("E").SplitTarget(pb.SplitTargetRequest(name=target.name))
    members = sorted(world.users[x] for x in "ABE")
    assert [(t.subject, t.amount, t.split_from) for t in split.targets] == [
        (f"users/{members[0]}", "100000.01", target.name), (f"users/{members[1]}", "100000.00", target.name),
        (f"users/{members[2]}", "100000.00", target.name)]
    mine = report_as("A").ListTargets(pb.ListTargetsRequest(period=NOVEMBER))
    assert [(t.subject, t.won_amount) for t in mine.targets] == [(world.user("A"), "50000.00")]
    assert len(report_as("E").ListTargets(pb.ListTargetsRequest(period=NOVEMBER)).targets) == 4
    assert len(report_as("W").ListTargets(pb.ListTargetsRequest(period=NOVEMBER)).targets) == 0
    with pytest.raises(grpc.RpcError) as denied:
        report_as("A").SetTarget(pb.SetTargetRequest(target=pb.Target(
            subject=world.user("A"), period_type=pb.Target.MONTH, start_date="2026-11-01", amount="1")))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as not_theirs:
        report_as("E").SetTarget(pb.SetTargetRequest(target=pb.Target(
            subject=world.user("C"), period_type=pb.Target.MONTH, start_date="2026-11-01", amount="1")))
    assert not_theirs.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as hidden:
        report_as("W").SplitTarget(pb.SplitTargetRequest(name=target.name))
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as uneven:
        report_as("E").SplitTarget(pb.SplitTargetRequest(name=target.name, shares=[
            pb.TargetShare(subject=world.user("A"), amount="100")]))
    assert uneven.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request(uneven.value) == ["shares"]
    with pytest.raises(grpc.RpcError) as outsider:
        report_as("E").SplitTarget(pb.SplitTargetRequest(name=target.name, shares=[
            pb.TargetShare(subject=world.user("C"), amount="300000.01")]))
    assert bad_request(outsider.value) == ["shares[0].subject"]
    # Nothing above changed the shares already set.
    assert [t.amount for t in report_as("S").ListTargets(pb.ListTargetsRequest(
        period=NOVEMBER, subject=world.user("A"))).targets] == ["100000.01" if members[0] == world.users["A"]
                                                               else "100000.00"]


# --- win / loss, lost deals, incentive ------------------------------------------------------------------------

def test_win_loss_and_lost_deals(report_as, world):
    report = report_as("E").GetWinLossReport(pb.GetWinLossReportRequest(period=NOVEMBER))
    assert (report.won_count, report.won_amount, report.lost_count, report.lost_amount, report.win_rate) == (
        1, "50000.00", 1, "30000.00", "0.5000")
    assert {(c.key, c.won_count, c.lost_count) for c in report.reasons} == {("价格", 1, 0), ("预算不足", 0, 1)}
    assert [(c.key, c.won_amount, c.lost_amount) for c in report.competitors] == [("Acme", "50000.00", "30000.00")]
    assert [(c.key, c.lost_count) for c in report.lost_from_stage] == [("validate", 1)]
    assert {(c.key, c.won_count, c.lost_count) for c in report.product_lines} == {("ERP", 1, 1), ("MES", 0, 1)}
    assert {(c.key, c.won_count, c.lost_count) for c in report.sources} == {("展会", 1, 0), ("官网", 0, 1)}
    lost = report_as("E").ListLostOpportunities(pb.ListLostOpportunitiesRequest(period=NOVEMBER))
    assert [(x.opportunity, x.reason, x.competitor, x.lost_from_stage, x.amount) for x in lost.opportunities] == [
        (f"opportunities/{world.deals['B1']}", "预算不足", "Acme", "validate", "30000.00")]
    assert report_as("A").ListLostOpportunities(pb.ListLostOpportunitiesRequest(period=NOVEMBER)).opportunities == []
    assert report_as("W").GetWinLossReport(pb.GetWinLossReportRequest(period=NOVEMBER)).won_count == 1  # C2


def test_incentive_basis_flags_first_customers_and_products_of_the_company(report_as, world):
    basis = report_as("S").GetIncentiveBasis(pb.GetIncentiveBasisRequest(period=NOVEMBER))
    lines = {x.opportunity: (x.amount, x.difficulty, x.basis, x.new_customer, x.new_product) for x in basis.lines}
    # H2 (won in June) already won customer k2 and product ERP.
    assert lines == {f"opportunities/{world.deals['A3']}": ("50000.00", "1.5", "75000.00", True, False),
                     f"opportunities/{world.deals['C2']}": ("80000.00", "1", "80000.00", False, True)}
    totals = {t.owner: (t.won_amount, t.basis, t.new_customer_deals, t.new_product_deals) for t in basis.totals}
    assert totals == {world.user("A"): ("50000.00", "75000.00", 1, 0), world.user("C"): ("80000.00", "80000.00", 0, 1)}
    rep = report_as("A").GetIncentiveBasis(pb.GetIncentiveBasisRequest(period=NOVEMBER))
    assert [x.opportunity for x in rep.lines] == [f"opportunities/{world.deals['A3']}"]


def test_source_value_counts_converted_and_direct_deals_by_source(report_as):
    def rows(letter: str) -> list[tuple]:
        report = report_as(letter).GetSourceValueReport(pb.GetSourceValueReportRequest(period=NOVEMBER))
        return [(r.source, r.registered, r.won_count, r.won_amount, r.lost_count, r.win_rate, r.won_from_leads,
                 r.won_direct, r.won_direct_amount) for r in report.rows]

    # C2 (官网) was registered directly and won; A3 (展会) came from a lead; B1 (官网) was lost; A1 A2 B2 C1 have no
    # source; B3 is December's.
    assert rows("S") == [("官网", 2, 1, "80000.00", 1, "0.5000", 0, 1, "80000.00"),
                         ("展会", 0, 1, "50000.00", 0, "1.0000", 1, 0, "0.00"),
                         ("", 4, 0, "0.00", 0, "", 0, 0, "0.00")]
    assert rows("E") == [("展会", 0, 1, "50000.00", 0, "1.0000", 1, 0, "0.00"),
                         ("", 3, 0, "0.00", 0, "", 0, 0, "0.00"),
                         ("官网", 1, 0, "0.00", 1, "0.0000", 0, 0, "0.00")]


# --- rep performance (now chosen: stalled and overdue depend on it) ------------------------------------------

def test_rep_performance_per_month_and_missed_close_dates(world):
    uow = bootstrap.reports_uow_factory(Settings.for_service("opportunities"))
    now = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)
    east = reports.rep_performance(Scope(), Period(date(2026, 11, 1), date(2026, 11, 30)), "month",
                                   world.users["E"], uow(), now=now)
    rows = {r.owner_id: (r.start, r.registered, r.advanced, r.won_count, r.won, r.lost_count) for r in east.rows}
    assert rows == {world.users["A"]: (date(2026, 11, 1), 2, 3, 1, Decimal("50000.00"), 0),
                    world.users["B"]: (date(2026, 11, 1), 2, 2, 0, Decimal(0), 1)}
    # On 4 December: A2 sits in discover since 10 November (max 14 days); nobody in East is overdue.
    assert east.missed == [(world.users["A"], 0, 1)]
    everyone = reports.rep_performance(Scope(), Period(date(2026, 11, 1), date(2026, 11, 30)), "week",
                                       world.users["S"], uow(), now=now)
    assert everyone.missed[0] == (world.users["H"], 1, 1)
    assert {m[0] for m in everyone.missed} == {world.users[x] for x in "HAC"}
    weeks = sorted((r.start, r.registered, r.advanced, r.lost_count) for r in everyone.rows
                   if r.owner_id == world.users["B"])
    # B1 registered on Sunday 1 November (Shanghai), moved on the 8th, lost on the 15th; B2 on the 12th and 18th.
    assert weeks == [(date(2026, 10, 26), 1, 0, 0), (date(2026, 11, 2), 0, 1, 0), (date(2026, 11, 9), 1, 0, 1),
                     (date(2026, 11, 16), 0, 1, 0)]


# --- forecast snapshots ---------------------------------------------------------------------------------------

def test_weekly_snapshot_is_taken_once_and_read_within_visibility(report_as, world):
    uow = bootstrap.reports_uow_factory(Settings.for_service("opportunities"))
    now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday in Shanghai
    assert reports.take_forecast_snapshot(now, uow()) is True
    assert reports.take_forecast_snapshot(now.replace(hour=9), uow()) is False
    got = report_as("E").ListForecastSnapshots(pb.ListForecastSnapshotsRequest(period=WINTER)).snapshots
    assert [(s.week_start, s.close_month, s.weighted_amount, s.won_amount, s.error_amount) for s in got] == [
        ("2026-12-07", "2026-12-01", "104000.00", "0.00", "104000.00"),
        ("2026-12-07", "2027-01-01", "10250.00", "0.00", "10250.00")]
    assert len(report_as("S").ListForecastSnapshots(pb.ListForecastSnapshotsRequest(period=WINTER)).snapshots) == 3
    assert report_as("T").ListForecastSnapshots(pb.ListForecastSnapshotsRequest(period=WINTER)).snapshots == []


# --- bad input ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, request_, field", [
    ("GetFunnelReport", pb.GetFunnelReportRequest(period=pb.ReportPeriod(start_date="2026-11-30",
                                                                          end_date="2026-11-01")), "period.end_date"),
    ("GetFunnelReport", pb.GetFunnelReportRequest(period=pb.ReportPeriod(start_date="2026-13-01",
                                                                          end_date="2026-12-01")), "period.start_date"),
    ("GetFunnelReport", pb.GetFunnelReportRequest(), "period.start_date"),
    ("GetForecastReport", pb.GetForecastReportRequest(period=NOVEMBER, group_by=pb.WEEK), "group_by"),
    ("GetForecastReport", pb.GetForecastReportRequest(period=NOVEMBER, group_by=9), "group_by"),
    ("GetRepPerformanceReport", pb.GetRepPerformanceReportRequest(period=NOVEMBER, group_by=pb.QUARTER), "group_by"),
    ("GetWinLossReport", pb.GetWinLossReportRequest(period=NOVEMBER, scope=pb.ReportScope(owner="people/1")),
     "scope.owner"),
    ("SetTarget", pb.SetTargetRequest(target=pb.Target(subject="teams/1", period_type=pb.Target.MONTH,
                                                       start_date="2026-11-01", amount="1")), "target.subject"),
    ("SetTarget", pb.SetTargetRequest(target=pb.Target(subject="users/" + str(uuid.uuid4()),
                                                       period_type=pb.Target.MONTH, start_date="2026-11-02",
                                                       amount="1")), "target.start_date"),
    ("SetTarget", pb.SetTargetRequest(target=pb.Target(subject="users/" + str(uuid.uuid4()),
                                                       start_date="2026-11-01", amount="-1")), "target.period_type"),
    ("ListLostOpportunities", pb.ListLostOpportunitiesRequest(period=NOVEMBER, page_token="nope"), "page_token"),
])
def test_bad_input_is_invalid_argument_naming_the_field(report_as, call, request_, field, scalar):
    before = scalar("SELECT count(*) FROM targets")
    with pytest.raises(grpc.RpcError) as exc:
        getattr(report_as("S"), call)(request_)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_request(exc.value)
    assert scalar("SELECT count(*) FROM targets") == before


def test_unknown_department_in_scope_is_not_found(report_as):
    with pytest.raises(grpc.RpcError) as exc:
        report_as("S").GetFunnelReport(pb.GetFunnelReportRequest(
            period=NOVEMBER, scope=pb.ReportScope(department=f"departments/{uuid.uuid4()}")))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


def test_the_workers_timer_keeps_this_weeks_snapshot_once(worker, world, scalar):
    worker.take_forecast_snapshot()
    worker.take_forecast_snapshot()
    assert scalar("SELECT count(*) FROM forecast_weeks") == 1
    # Open, dated, owned deals: A1 B2 (December), A2 B3 (January), C1 (February), H1 (October), one row per
    # owner and month.
    assert scalar("SELECT count(*) FROM forecast_snapshots") == 6
    assert scalar("SELECT sum(pipeline_amount) FROM forecast_snapshots") == Decimal("235000.00")


def test_a_win_keeps_its_reason_and_the_competitors_beaten_for_the_win_loss_report(as_user, register, front,
                                                                                   token_for, scalar):
    owner = str(uuid.uuid4())
    caller, name = as_user(owner), register(owner)
    close = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    deal = caller.UpdateOpportunity(opb.UpdateOpportunityRequest(
        opportunity=opb.Opportunity(name=name, expected_close_date=close, amount="1000.00", currency="CNY",
                                    product_lines=["ERP"], checklist=[
                                        "need_confirmed", "budget_confirmed", "requirements_documented",
                                        "solution_presented", "decision_maker_met", "competition_analysed",
                                        "quote_sent", "contract_reviewed"]),
        update_mask=FieldMask(paths=["expected_close_date", "amount", "currency", "product_lines", "checklist"])))
    # The shipped pipeline's 确定决策者 stage is left with a decision maker in the chain (version 3).
    caller.AddDecisionChainContact(opb.AddDecisionChainContactRequest(parent=name, contact=opb.DealContact(
        display_name="周总", buying_role="decision_maker")))
    for _ in range(7):
        deal = caller.AdvanceStage(opb.AdvanceStageRequest(name=name, etag=deal.etag))
    with pytest.raises(grpc.RpcError) as too_long:
        caller.WinOpportunity(opb.WinOpportunityRequest(name=name, etag=deal.etag, reason="长" * 201))
    assert bad_request(too_long.value) == ["reason"]
    assert scalar("SELECT stage_key FROM opportunities WHERE id = :id", id=name.split("/")[1]) == "negotiation"
    caller.WinOpportunity(opb.WinOpportunityRequest(name=name, etag=deal.etag, reason=" 服务好 ",
                                                    competitors_beaten=["Acme", " Acme", "", "Globex"]))
    channel = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    reports_caller = Caller(reports_pb2_grpc.OpportunityReportsServiceStub(channel), token_for(owner))
    today = datetime.now(UTC).date()
    period = pb.ReportPeriod(start_date=(today - timedelta(days=1)).isoformat(),
                             end_date=(today + timedelta(days=1)).isoformat())
    report = reports_caller.GetWinLossReport(pb.GetWinLossReportRequest(period=period))
    channel.close()
    assert [(r.key, r.won_count, r.won_amount) for r in report.reasons] == [("服务好", 1, "1000.00")]
    assert sorted(c.key for c in report.competitors) == ["Acme", "Globex"]


def test_the_cli_draws_the_funnel_and_the_forecast_the_caller_may_see(front, token_for, world, capsys):
    target = f"127.0.0.1:{front.bound_port}"
    token = token_for(world.users["E"])
    assert reports_cli.main(["funnel", "--start", "2026-11-01", "--end", "2026-11-30", "--target", target,
                             "--token", token]) == 0
    funnel = capsys.readouterr().out.splitlines()
    discover = next(line for line in funnel if "(discover)" in line)
    negotiation = next(line for line in funnel if "(negotiation)" in line)
    # Two deals in discover, one in negotiation: the longest bar and half of it.
    assert discover.count("█") == 40 and negotiation.count("█") == 20
    assert "25000.00" in discover and "75%" in discover and "12.34" in discover
    assert "sales cycle of 1 deals won" in funnel[-6] and funnel[-4].split() == ["31-60", "█" * 40, "1"]
    assert reports_cli.main(["forecast", "--start", "2026-12-01", "--end", "2027-01-31", "--target", target,
                             "--token", token]) == 0
    forecast = capsys.readouterr().out.splitlines()
    december = next(line for line in forecast if line.startswith("2026-12"))
    # Weighted 104000 of which commit 100000, against the largest figure (best case 140000).
    assert december.count("▓") == 29 and december.count("█") == 1
    assert december.split()[2:6] == ["104000.00", "100000.00", "140000.00", "0.00"]
    assert forecast[-1].split()[:2] == ["total", "114250.00"]
    assert reports_cli.main(["funnel", "--start", "2026-11-30", "--end", "2026-11-01", "--target", target,
                             "--token", token]) == 1
    assert "INVALID_ARGUMENT" in capsys.readouterr().err


# --- figures kept on write for the funnel (migration 0017) -------------------------------------------------------

def _kept_and_recomputed(conn: sa.Connection) -> tuple[list, list, list]:
    kept = conn.execute(sa.text(
        "SELECT owner_id, stage_key, deals, amount FROM report_stage_counts WHERE deals <> 0 "
        "ORDER BY owner_id NULLS FIRST, stage_key")).all()
    counted = conn.execute(sa.text(
        "SELECT owner_id, stage_key, count(*), coalesce(sum(amount), 0) FROM opportunities "
        "WHERE registration_state = 'active' GROUP BY owner_id, stage_key ORDER BY owner_id NULLS FIRST, stage_key"
    )).all()
    stale_stays = conn.execute(sa.text(
        "SELECT id, owner_id, pipeline_id, counted, known_stage, advanced FROM stage_history "
        "EXCEPT SELECT id, owner_id, pipeline_id, counted, known_stage, advanced FROM report_history_values")).all()
    # The forecast's kept sums against the report's own query over the deals, by month and by quarter, to the digit.
    first, last = date(2000, 1, 1), date(2100, 12, 31)
    for granularity in ("month", "quarter"):
        kept_forecast = reports_queries.kept_open_forecast(conn, [], first, last, granularity)
        assert kept_forecast and kept_forecast == sorted(
            reports_queries.open_forecast(conn, [], first, last, granularity), key=lambda r: r.start), granularity
    return kept, counted, stale_stays


def test_the_figures_kept_for_the_funnel_follow_every_write(world, report_as):
    """Owner, amount, stage, registration state and pipeline version changes, a new stay and a deleted deal: the
    counts per stage and each stay's copies stay equal to what the deals and stays say, and the funnel with them."""
    engine = sa.create_engine(Settings.for_service("opportunities").database_url, poolclass=sa.pool.NullPool)
    a1, b2, c1 = world.deals["A1"], world.deals["B2"], world.deals["C1"]
    with engine.begin() as conn:
        kept, counted, stale = _kept_and_recomputed(conn)
        assert kept == counted and kept and stale == []
        # C1 (West) moves to A (East); B2 gets a bigger amount and is pushed back to discover, then on to
        # proposal again (a new stay); A1's registration stops counting.
        conn.execute(sa.text("UPDATE opportunities SET owner_id = :a WHERE id = :d"), {"a": world.users["A"], "d": c1})
        conn.execute(sa.text("UPDATE opportunities SET amount = amount + 1000, stage_key = 'discover' WHERE id = :d"),
                     {"d": b2})
        conn.execute(sa.text("INSERT INTO stage_history (opportunity_id, stage_key, enter_time) "
                             "VALUES (:d, 'negotiation', :t)"), {"d": b2, "t": t("2026-11-20T02:00:00")})
        conn.execute(sa.text("UPDATE opportunities SET registration_state = 'pending_arbitration' WHERE id = :d"),
                     {"d": a1})
        # The forecast's inputs: a probability override, a close date moved to another month, one cleared.
        conn.execute(sa.text("UPDATE opportunities SET probability = 75, "
                             "expected_close_date = expected_close_date + 40 WHERE id = :d"), {"d": c1})
        conn.execute(sa.text("UPDATE opportunities SET amount = 33333.33 WHERE id = :d"), {"d": world.deals["A2"]})
        conn.execute(sa.text("UPDATE opportunities SET expected_close_date = NULL WHERE id = :d"),
                     {"d": world.deals["B3"]})
        kept, counted, stale = _kept_and_recomputed(conn)
        assert kept == counted and stale == []
        assert conn.execute(sa.text("SELECT count(*) FROM stage_history WHERE opportunity_id = :d "
                                    "AND owner_id = :a"), {"d": c1, "a": world.users["A"]}).scalar() > 0
    west = report_as("W").GetFunnelReport(pb.GetFunnelReportRequest(period=NOVEMBER))
    east = report_as("E").GetFunnelReport(pb.GetFunnelReportRequest(period=NOVEMBER))
    assert sum(s.count for s in west.stages) == 1  # C2 (won) is left; C1 went to East
    got = stages(east)
    # Before: discover A2 + B3 (25,000), proposal B2 (40,000), negotiation A1. Now B2 (41,000) is in discover beside
    # A2 (33,333.33) and B3, C1 (60,000) in validate, and A1 waits for arbitration (not counted).
    assert (got["discover"][:2], got["validate"][:2], got["proposal"][:2], got["negotiation"][:2]) == (
        (3, "79333.33"), (1, "60000.00"), (0, "0.00"), (0, "0.00"))
    with engine.begin() as conn:
        for table in ("team_members", "win_reasons", "stage_history"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE opportunity_id = :d"), {"d": b2})
        conn.execute(sa.text("DELETE FROM opportunities WHERE id = :d"), {"d": b2})
        kept, counted, stale = _kept_and_recomputed(conn)
        assert kept == counted and stale == []
    engine.dispose()


def test_each_stay_keeps_its_funnel_columns_as_a_recomputation_says(world):
    """Migration 0018 keeps a stay's columns incrementally (its own before insert, its deal's earlier stays'
    ``advanced`` after): stays added one at a time and several at once, forward, back, to a stage not in the deal's
    version, to a lost stage, with an id lower than a later stay's, and deleted, always equal
    ``report_history_values``."""
    engine = sa.create_engine(Settings.for_service("opportunities").database_url, poolclass=sa.pool.NullPool)
    deal = world.deals["B3"]
    add = sa.text("INSERT INTO stage_history (opportunity_id, stage_key, enter_time) VALUES (:d, :k, :t)")

    def stale(conn: sa.Connection) -> list:
        return conn.execute(sa.text(
            "SELECT id, owner_id, pipeline_id, counted, known_stage, advanced FROM stage_history "
            "EXCEPT SELECT id, owner_id, pipeline_id, counted, known_stage, advanced FROM report_history_values"
        )).all()

    with engine.begin() as conn:
        for key in ("validate", "discover", "lost", "no_such_stage", "proposal", "analyse", "validate"):
            conn.execute(add, {"d": deal, "k": key, "t": t("2026-12-01T02:00:00")})
            assert stale(conn) == [], key
        # Several stays in one statement: each row's triggers see the others.
        conn.execute(add, [{"d": deal, "k": k, "t": t("2026-12-02T02:00:00")}
                           for k in ("discover", "negotiation", "value", "lost", "won")])
        assert stale(conn) == []
        # A stay whose id is below one already there (ids are taken before commit, commits come in any order).
        low = conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence('stage_history', 'id'))")).scalar_one()
        conn.execute(add, {"d": deal, "k": "perception", "t": t("2026-12-03T02:00:00")})
        conn.execute(sa.text("INSERT INTO stage_history (id, opportunity_id, stage_key, enter_time) "
                             "OVERRIDING SYSTEM VALUE VALUES (:i, :d, 'discover', :t)"),
                     {"i": low, "d": deal, "t": t("2026-12-03T01:00:00")})
        assert stale(conn) == []
        advanced = conn.execute(sa.text("SELECT count(*) FROM stage_history WHERE opportunity_id = :d AND advanced"),
                                {"d": deal}).scalar_one()
        assert advanced > 0
        # Deleting the later stays takes ``advanced`` back from the earlier ones.
        conn.execute(sa.text("DELETE FROM stage_history WHERE opportunity_id = :d AND stage_key <> 'discover'"),
                     {"d": deal})
        assert stale(conn) == []
        assert conn.execute(sa.text("SELECT count(*) FROM stage_history WHERE opportunity_id = :d AND advanced"),
                            {"d": deal}).scalar_one() == 0
    engine.dispose()
