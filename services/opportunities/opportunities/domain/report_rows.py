"""The rows the reports' store returns (``service_layer.report_repositories`` names the store, ``adapters`` fills
it): plain data, no rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class StageRow:
    """A stage of a pipeline's latest version, in order."""

    key: str
    display_name: str
    category: str
    position: int


@dataclass(frozen=True)
class ForecastRow:
    """Open deals expected to close in one month or quarter (``start``: its first day)."""

    start: date
    open_count: int
    pipeline: Decimal
    weighted: Decimal
    commit: Decimal
    best_case: Decimal


@dataclass(frozen=True)
class SnapshotRow:
    """One week's snapshot of the pipeline expected to close in one month."""

    week_start: date
    close_month: date
    pipeline: Decimal
    weighted: Decimal
    commit: Decimal
    best_case: Decimal


@dataclass(frozen=True)
class ClosedDeal:
    """A deal won or lost, with what the win/loss report groups it by."""

    id: str
    won: bool
    title: str
    customer_company: str
    owner_id: str
    amount: Decimal
    reason: str
    competitors: tuple[str, ...]
    product_lines: tuple[str, ...]
    source: str
    lost_from_stage: str
    close_time: datetime


@dataclass(frozen=True)
class IncentiveRow:
    """A deal won, with what the incentive basis needs (bonus flags over the company's whole history)."""

    id: str
    owner_id: str
    win_date: date
    amount: Decimal
    currency: str
    difficulty: Decimal
    new_customer: bool
    new_product: bool


@dataclass(frozen=True)
class SourceRow:
    """What one deal source brought in a period."""

    source: str
    registered: int
    won_count: int
    won: Decimal
    lost_count: int
    won_from_leads: int
    won_from_leads_amount: Decimal
    won_direct: int
    won_direct_amount: Decimal


@dataclass(frozen=True)
class TargetRow:
    """A target as stored: a person's or a department's amount for one month, quarter or year."""

    id: str
    subject_kind: str
    subject_id: str
    period_type: str
    start_date: date
    end_date: date
    amount: Decimal
    split_from: str | None
    set_by: str
    update_time: datetime
