"""Leads reports: each rep's activity per company week or month (new leads, follow-ups, first-response time),
counting only leads the caller may open (``adapters.reports_queries`` applies the kit's visibility rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from shangji_kit import caller, company_time
from shangji_kit.periods import Period


class ReportsUnitOfWork(Protocol):
    """A read transaction; ``__enter__`` gives the store (``ReportStore``)."""

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> None: ...


@dataclass(frozen=True)
class RepActivity:
    owner_id: str
    start: date
    new_leads: int
    follow_ups: int
    first_responses: int
    average_first_response_seconds: float | None


def rep_activity(period: Period, granularity: str, department_id: str | None, owner_id: str | None,
                 caller_id: str, uow: ReportsUnitOfWork) -> list[RepActivity]:
    user_id = caller.user_id(caller_id)
    start, end = company_time.day_range(period.start, period.end)
    with uow as store:
        where = store.scope(store.viewer(user_id), department_id, owner_id)
        created = store.new_leads(where, start, end, granularity)
        followed = store.follow_ups(where, start, end, granularity)
        answered = store.first_responses(where, start, end, granularity)
    keys = sorted({*created, *followed, *answered})
    return [RepActivity(owner, b, created.get((owner, b), 0), followed.get((owner, b), 0),
                        *answered.get((owner, b), (0, None))) for owner, b in keys]
