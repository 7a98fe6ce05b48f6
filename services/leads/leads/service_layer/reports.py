"""Leads reports: each rep's activity per company week or month (new leads, follow-ups, first-response time), and
won amounts attributed to campaigns over every touch; counting only leads the caller may open
(the store's ``scope`` starts from the kit's visibility rule; ``adapters.reports_queries`` is the PostgreSQL one,
``bootstrap.reports_uow_factory`` wires it)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from leads.domain import attribution as attribution_rules
from shangji_kit import caller, company_time, visibility
from shangji_kit.periods import Period


class Where(Protocol):
    """The leads a report counts (visible to its viewer, inside its scope), as the store built them; opaque here."""


class ReportStore(Protocol):
    """What the report use cases read, in one transaction."""

    def viewer(self, user_id: str) -> visibility.Viewer: ...

    def scope(self, viewer: visibility.Viewer, department_id: str | None, owner_id: str | None) -> Where:
        """The leads ``viewer`` may open, owned in the department tree or by the person; NOT_FOUND for an unknown
        name."""

    def new_leads(self, where: Where, start: datetime, end: datetime, granularity: str
                  ) -> dict[tuple[str, date], int]: ...

    def follow_ups(self, where: Where, start: datetime, end: datetime, granularity: str
                   ) -> dict[tuple[str, date], int]: ...

    def first_responses(self, where: Where, start: datetime, end: datetime, granularity: str
                        ) -> dict[tuple[str, date], tuple[int, float]]:
        """(holder, bucket) -> (holdings first answered, mean first-response seconds)."""

    def won_outcomes(self, where: Where, start: datetime, end: datetime) -> list[tuple[str, Decimal]]:
        """(lead id, amount) of the won deals from those leads, their win heard in [start, end)."""

    def touches(self, lead_ids: list[str]) -> dict[str, list[str]]:
        """Each lead's campaign touches, oldest first."""

    def campaign_names(self, campaign_ids: list[str]) -> dict[str, str]: ...


class ReportsUnitOfWork(Protocol):
    """A read transaction; ``__enter__`` gives the store."""

    def __enter__(self) -> ReportStore: ...

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


@dataclass(frozen=True)
class Attribution:
    model: str
    rows: list[tuple[str, str, int, Decimal]]  # campaign id, display name, deals, attributed amount
    unattributed: Decimal
    won: Decimal


def attribution(period: Period, model: str, caller_id: str, uow: ReportsUnitOfWork) -> Attribution:
    """Won amounts of the caller's visible converted leads, spread over each lead's campaign touches."""
    user_id = caller.user_id(caller_id)
    start, end = company_time.day_range(period.start, period.end)
    with uow as store:
        won = store.won_outcomes(store.scope(store.viewer(user_id), None, None), start, end)
        touches = store.touches(sorted({lead_id for lead_id, _ in won}))
        amounts: dict[str, Decimal] = defaultdict(Decimal)
        deals: dict[str, int] = defaultdict(int)
        unattributed = Decimal(0)
        for lead_id, amount in won:
            shares = attribution_rules.spread(amount, touches.get(lead_id, []), model)
            if not shares:
                unattributed += amount
            for campaign_id, share in shares.items():
                amounts[campaign_id] += share
                deals[campaign_id] += 1
        names = store.campaign_names(sorted(amounts))
    rows = sorted(((c, names.get(c, ""), deals[c], a) for c, a in amounts.items()), key=lambda r: (-r[3], r[0]))
    return Attribution(model, rows, unattributed, sum((a for _, a in won), Decimal(0)))
