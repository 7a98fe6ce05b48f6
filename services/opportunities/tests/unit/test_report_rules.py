"""Report use-case rules that need no database: who may set a target, a target per bucket, the win/loss tally."""

from datetime import UTC, date, datetime
from decimal import Decimal

from opportunities.domain.report_rows import TargetRow
from opportunities.domain.reporting import Period
from opportunities.service_layer import reports, targets
from shangji_kit.visibility import Viewer

HEAD = Viewer(user_id="h", sees_everything=False, headed_paths=("/root/east/",))


def test_who_may_set_a_target():
    assert targets._may_set(HEAD, ("department", "east"), "/root/east/")
    assert targets._may_set(HEAD, ("user", "a"), "/root/east/team/")
    assert not targets._may_set(HEAD, ("user", "h"), "/root/east/")  # not their own
    assert not targets._may_set(HEAD, ("user", "c"), "/root/west/")
    assert not targets._may_set(HEAD, ("user", "x"), "")  # someone in no department
    assert targets._may_set(Viewer("s", True, ()), ("user", "s"), "")
    assert not targets._may_set(Viewer("h", False, ("/root/east/",), deactivated=True), ("user", "a"), "/root/east/")


def row(kind: str, start: date, end: date, amount: str) -> TargetRow:
    return TargetRow("t", "department", "east", kind, start, end, Decimal(amount), None, "h", datetime.now(UTC))


def test_the_most_specific_target_counts_for_each_month():
    goals = [row("quarter", date(2026, 10, 1), date(2026, 12, 31), "300"),
             row("month", date(2026, 12, 1), date(2026, 12, 31), "50"),
             row("year", date(2027, 1, 1), date(2027, 12, 31), "1200")]
    assert targets.target_for(goals, Period(date(2026, 11, 1), date(2026, 11, 30))) == Decimal("100.00")
    assert targets.target_for(goals, Period(date(2026, 12, 1), date(2026, 12, 31))) == Decimal("50.00")
    assert targets.target_for(goals, Period(date(2026, 10, 1), date(2026, 12, 31))) == Decimal("250.00")
    assert targets.target_for(goals, Period(date(2027, 1, 1), date(2027, 3, 31))) == Decimal("300.00")
    assert targets.target_for(goals, Period(date(2028, 1, 1), date(2028, 1, 31))) is None
    assert targets.target_for([], Period(date(2026, 11, 1), date(2026, 11, 30))) is None


class Closed:
    def __init__(self, won: bool, amount: str, reason: str, competitors=(), lines=(), source="", lost_from=""):
        self.won, self.amount, self.reason = won, Decimal(amount), reason
        self.competitors, self.product_lines, self.source, self.lost_from_stage = competitors, lines, source, lost_from


def test_win_loss_counts_a_deal_under_each_of_its_product_lines_and_competitors():
    tally = reports.tally_win_loss([
        Closed(True, "100", "价格", ("Acme", "Globex"), ("ERP", "MES"), "展会"),
        Closed(False, "40", "预算", ("Acme",), (), "", "validate"),
    ])
    assert (tally.total.won_count, tally.total.won, tally.total.lost_count, tally.total.lost) == (
        1, Decimal(100), 1, Decimal(40))
    assert (tally.competitors["Acme"].won_count, tally.competitors["Acme"].lost_count) == (1, 1)
    assert set(tally.product_lines) == {"ERP", "MES", ""}
    assert tally.product_lines["MES"].won == Decimal(100)
    assert dict(tally.lost_from_stage).keys() == {"validate"}
