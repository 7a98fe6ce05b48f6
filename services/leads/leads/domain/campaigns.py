"""Campaigns and the source value report. Plain Python: no database, no protos, no framework."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from shangji_kit.errors import FieldViolation, InvalidArgument

CAMPAIGN_FIELDS = ("display_name", "channel", "cost", "currency", "start_date", "end_date")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CENT = Decimal("0.01")
# Money is stored as numeric(18, 2): anything larger cannot be a campaign's cost.
_MAX_COST = Decimal("9999999999999999.99")


@dataclass
class Campaign:
    id: str
    display_name: str
    channel: str
    cost: Decimal
    currency: str
    start_date: date | None
    end_date: date | None
    create_time: datetime
    update_time: datetime
    version: int = 1

    @property
    def name(self) -> str:
        return f"campaigns/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)


def _date(raw: str, path: str, violations: list[FieldViolation]) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        violations.append(FieldViolation(path, f"a date YYYY-MM-DD: {raw!r}"))
        return None


def clean_campaign_fields(values: dict[str, str], current: Campaign | None = None) -> dict:
    """The given fields checked and typed (cost a Decimal to the cent, dates), every bad one at once; the
    date order is checked against ``current`` for the fields not given."""
    violations: list[FieldViolation] = []
    out: dict = {}
    for name, limit in (("display_name", 200), ("channel", 100)):
        if name in values:
            out[name] = " ".join(values[name].split())
            if not out[name]:
                violations.append(FieldViolation(f"campaign.{name}", "required"))
            elif len(out[name]) > limit:
                violations.append(FieldViolation(f"campaign.{name}", f"at most {limit} characters"))
    if "cost" in values:
        raw = values["cost"].strip() or "0"
        try:
            cost = Decimal(raw)
            if not cost.is_finite() or cost < 0 or cost > _MAX_COST or cost != cost.quantize(_CENT):
                raise InvalidOperation
            out["cost"] = cost.quantize(_CENT)
        except InvalidOperation:
            violations.append(FieldViolation("campaign.cost",
                                             f"a decimal amount >= 0 with at most 2 decimals: {raw!r}"))
    if "currency" in values:
        out["currency"] = values["currency"].strip().upper() or "CNY"
        if not _CURRENCY.match(out["currency"]):
            violations.append(FieldViolation("campaign.currency", "an ISO 4217 code such as CNY"))
    for name in ("start_date", "end_date"):
        if name in values:
            out[name] = _date(values[name], f"campaign.{name}", violations)
    start = out.get("start_date", current.start_date if current else None)
    end = out.get("end_date", current.end_date if current else None)
    if start and end and end < start and not any(v.field.endswith("_date") for v in violations):
        violations.append(FieldViolation("campaign.end_date", "not before start_date"))
    if violations:
        raise InvalidArgument(violations)
    return out


def new_campaign(*, id: str, values: dict[str, str], now: datetime) -> Campaign:
    cleaned = clean_campaign_fields({k: values.get(k, "") for k in CAMPAIGN_FIELDS})
    return Campaign(id=id, create_time=now, update_time=now, **cleaned)


def update_campaign(campaign: Campaign, changes: dict, now: datetime) -> tuple[str, ...]:
    changed = tuple(f for f in CAMPAIGN_FIELDS if f in changes and changes[f] != getattr(campaign, f))
    for f in changed:
        setattr(campaign, f, changes[f])
    if changed:
        campaign.version += 1
        campaign.update_time = now
    return changed


@dataclass(frozen=True)
class Tally:
    """What one source channel or campaign brought (the repository counts; the report divides)."""

    key: str
    display_name: str
    leads: int
    mql: int
    sql: int
    conversions: int
    # Won amounts by currency.
    won: dict[str, Decimal]
    # Cost by currency (a channel may hold campaigns in several).
    cost: dict[str, Decimal]


@dataclass(frozen=True)
class ReportRow:
    key: str
    display_name: str
    leads: int
    mql: int
    sql: int
    conversions: int
    won_amount: str
    currency: str
    cost: str
    cost_per_lead: str
    return_on_spend: str


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def report_row(t: Tally) -> ReportRow:
    """Cost per lead and return on spend (won / cost) only where one currency makes them meaningful."""
    cost_currencies = {c for c, v in t.cost.items() if v}
    won_currencies = {c for c, v in t.won.items() if v}
    currency = next(iter(cost_currencies or won_currencies), "") if len(cost_currencies | won_currencies) <= 1 else ""
    won = _money(sum(t.won.values(), Decimal(0))) if len(won_currencies) <= 1 else ""
    cost = per_lead = ros = ""
    if len(cost_currencies) == 1:
        total = sum(t.cost.values(), Decimal(0))
        cost = _money(total)
        if t.leads:
            per_lead = _money(total / t.leads)
        if currency:
            ros = str((sum(t.won.values(), Decimal(0)) / total).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
    if not currency and len(won_currencies) > 1:
        won = "; ".join(f"{_money(v)} {c}" for c, v in sorted(t.won.items()) if v)
    return ReportRow(key=t.key, display_name=t.display_name, leads=t.leads, mql=t.mql, sql=t.sql,
                     conversions=t.conversions, won_amount=won or "0.00", currency=currency, cost=cost,
                     cost_per_lead=per_lead, return_on_spend=ros)


@dataclass(frozen=True)
class Outcome:
    """What opportunities said about a deal: won (OpportunityWon) or not any more (OpportunityReopened)."""

    opportunity: str
    lead_id: str | None
    won: bool
    amount: str
    currency: str
    change_time: datetime
