"""Day boundaries follow the company's time zone (Asia/Shanghai by default), not UTC."""

from datetime import UTC, date, datetime

import pytest

from opportunities.domain import alerts, work
from shangji_kit.errors import InvalidArgument

# 17:30 UTC on 4 December is 01:30 on 5 December in Shanghai.
LATE_UTC = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)


def test_alerts_turn_the_day_over_at_the_companys_midnight():
    assert alerts.today_of(LATE_UTC) == date(2026, 12, 5)
    assert alerts.today_of(datetime(2026, 12, 4, 15, 59, tzinfo=UTC)) == date(2026, 12, 4)


def test_a_task_due_on_a_day_already_over_in_shanghai_is_refused():
    with pytest.raises(InvalidArgument) as exc:
        work.new_task(id="t", opportunity_id="o", title="call", due_date=date(2026, 12, 4), assignee_id="u",
                      creator_id="u", now=LATE_UTC)
    assert [v.field for v in exc.value.violations] == ["task.due_date"]
    task = work.new_task(id="t", opportunity_id="o", title="call", due_date=date(2026, 12, 5), assignee_id="u",
                         creator_id="u", now=LATE_UTC)
    assert task.due_date == date(2026, 12, 5)
