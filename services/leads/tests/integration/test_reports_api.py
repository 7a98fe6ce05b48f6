"""LeadReportsService: each rep's activity per company week or month, within what the caller may see, through the
in-process front. Times are UTC; the company's zone is Asia/Shanghai (+08:00)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import sqlalchemy as sa

from leads.adapters.orm import follow_ups, leads
from shangji.leads.v1 import reports_pb2 as pb
from shangji.leads.v1 import reports_pb2_grpc
from shangji_kit.rpc.client import Caller
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings

NOVEMBER = pb.LeadReportPeriod(start_date="2026-11-01", end_date="2026-11-30")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def world(org, shangji_env):
    """East (head H; reps A, B), West (rep C), sales_ops S; leads and follow-ups in and around November."""
    east, h = org.head()
    west = org.department()
    people = {"H": h, "A": org.user(east), "B": org.user(east), "C": org.user(west),
              "S": org.user(None, roles=("sales_ops",))}
    rows, notes = [], []

    def lead(owner: str, created: str, hold: str | None = None, response_minutes: int | None = None) -> str:
        lead_id = str(uuid.uuid4())
        rows.append({"id": lead_id, "company": f"公司 {lead_id[:6]}", "contact_name": "王", "owner_id": people[owner],
                     "version": 1, "create_time": at(created), "update_time": at(created),
                     "hold_time": at(hold) if hold else None,
                     "first_response_time": timedelta(minutes=response_minutes) if response_minutes else None})
        return lead_id

    def follow_up(lead_id: str, author: str, when: str) -> None:
        notes.append({"id": str(uuid.uuid4()), "lead_id": lead_id, "kind": "CALL", "author_id": people[author],
                      "create_time": at(when)})

    a1 = lead("A", "2026-11-02T02:00:00", "2026-11-02T02:00:00", 30)
    a2 = lead("A", "2026-10-31T17:00:00", "2026-10-31T17:00:00", 90)  # 1 Nov 01:00 in Shanghai
    lead("A", "2026-11-30T16:30:00")  # 1 December in Shanghai: not November's
    b1 = lead("B", "2026-11-10T02:00:00", "2026-11-10T02:00:00", 60)
    c1 = lead("C", "2026-11-11T02:00:00", "2026-11-11T02:00:00", 10)
    for lead_id, author, when in ((a1, "A", "2026-11-02T02:30:00"), (a1, "A", "2026-11-20T02:00:00"),
                                  (a2, "A", "2026-10-31T18:30:00"), (b1, "B", "2026-11-10T03:00:00"),
                                  (c1, "C", "2026-11-11T02:10:00")):
        follow_up(lead_id, author, when)
    engine = sa.create_engine(Settings.for_service("leads").database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(leads.insert(), rows)
        conn.execute(follow_ups.insert(), notes)
    engine.dispose()
    return people


@pytest.fixture
def report_as(channel, token_for, world):
    stub = reports_pb2_grpc.LeadReportsServiceStub(channel)
    return lambda letter: Caller(stub, token_for(world[letter]))


def rows(report: pb.RepActivityReport) -> dict:
    return {(r.owner, r.start_date): (r.new_leads, r.follow_ups, r.first_responses,
                                      r.average_first_response_seconds) for r in report.rows}


def test_a_head_sees_their_reps_activity_by_month_in_company_days(report_as, world):
    got = rows(report_as("H").GetRepActivityReport(pb.GetRepActivityReportRequest(period=NOVEMBER)))
    a, b = f"users/{world['A']}", f"users/{world['B']}"
    # A: a1 and a2 (1 November in Shanghai), not the lead of 1 December; three follow-ups; responses 30 and 90 min.
    assert got == {(a, "2026-11-01"): (2, 3, 2, "3600.0"), (b, "2026-11-01"): (1, 1, 1, "3600.0")}


def test_a_rep_sees_their_own_and_sales_ops_everyone_by_week(report_as, world):
    mine = rows(report_as("A").GetRepActivityReport(pb.GetRepActivityReportRequest(period=NOVEMBER)))
    assert set(owner for owner, _ in mine) == {f"users/{world['A']}"}
    weekly = rows(report_as("S").GetRepActivityReport(pb.GetRepActivityReportRequest(
        period=NOVEMBER, group_by=pb.LEAD_REPORT_GRANULARITY_WEEK)))
    a, c = f"users/{world['A']}", f"users/{world['C']}"
    assert weekly[(a, "2026-10-26")] == (1, 1, 1, "5400.0")  # Sunday 1 November (Shanghai)
    assert weekly[(a, "2026-11-02")] == (1, 1, 1, "1800.0")
    assert weekly[(a, "2026-11-16")] == (0, 1, 0, "")
    assert weekly[(c, "2026-11-09")] == (1, 1, 1, "600.0")
    west_only = rows(report_as("S").GetRepActivityReport(pb.GetRepActivityReportRequest(
        period=NOVEMBER, owner=c)))
    assert set(owner for owner, _ in west_only) == {c}


@pytest.mark.parametrize("request_, field", [
    (pb.GetRepActivityReportRequest(period=pb.LeadReportPeriod(start_date="2026-11-30", end_date="2026-11-01")),
     "period.end_date"),
    (pb.GetRepActivityReportRequest(period=NOVEMBER, group_by=7), "group_by"),
    (pb.GetRepActivityReportRequest(period=NOVEMBER, department="teams/1"), "department"),
])
def test_bad_input_is_invalid_argument_naming_the_field(report_as, request_, field):
    with pytest.raises(grpc.RpcError) as exc:
        report_as("S").GetRepActivityReport(request_)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in details_of(exc.value)["fields"]
