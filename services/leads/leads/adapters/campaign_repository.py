"""Campaigns, the deals won from leads, and the source report's tallies, in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from leads.adapters.keyset import newest_first
from leads.adapters.orm import campaigns, leads, opportunity_outcomes
from leads.domain.campaigns import Campaign, Tally
from leads.domain.scoring import MQL, SQL
from shangji_kit.errors import Aborted

_CAMPAIGN = ("id", "display_name", "channel", "cost", "currency", "start_date", "end_date", "create_time",
             "update_time", "version")


def _campaign(row) -> Campaign:
    return Campaign(**{c: getattr(row, c) for c in _CAMPAIGN})


class CampaignRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, campaign: Campaign) -> None:
        self.session.execute(sa.insert(campaigns).values(**{c: getattr(campaign, c) for c in _CAMPAIGN}))

    def get(self, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
        stmt = sa.select(campaigns).where(campaigns.c.id == campaign_id)
        row = self.session.execute(stmt.with_for_update() if for_update else stmt).first()
        return _campaign(row) if row else None

    def exists(self, campaign_id: str) -> bool:
        return self.session.execute(sa.select(sa.exists().where(campaigns.c.id == campaign_id))).scalar_one()

    def list(self, limit: int, after: tuple[datetime, str] | None) -> list[Campaign]:
        stmt = newest_first(campaigns, sa.select(campaigns), after).limit(limit)
        return [_campaign(r) for r in self.session.execute(stmt)]

    def update(self, campaign: Campaign, expected_version: int) -> None:
        values = {c: getattr(campaign, c) for c in _CAMPAIGN if c not in ("id", "create_time")}
        stmt = (sa.update(campaigns).where(campaigns.c.id == campaign.id, campaigns.c.version == expected_version)
                .values(**values))
        if self.session.execute(stmt).rowcount == 0:
            raise Aborted(f"{campaign.name} was changed concurrently; re-read it and retry",
                          metadata={"resource": campaign.name})

    # --- deals from converted leads, and the report ---

    def record_outcome(self, opportunity: str, lead_id: str, won: bool, amount: Decimal, currency: str,
                       change_time: datetime) -> None:
        """What opportunities last said about a deal; an older word than the one held is ignored (events
        may arrive out of order)."""
        stmt = pg.insert(opportunity_outcomes).values(opportunity=opportunity, lead_id=lead_id, won=won, amount=amount,
                                                      currency=currency, change_time=change_time)
        stmt = stmt.on_conflict_do_update(
            index_elements=[opportunity_outcomes.c.opportunity],
            set_={"won": stmt.excluded.won, "amount": stmt.excluded.amount, "currency": stmt.excluded.currency,
                  "change_time": stmt.excluded.change_time, "lead_id": stmt.excluded.lead_id},
            where=opportunity_outcomes.c.change_time <= stmt.excluded.change_time)
        self.session.execute(stmt)

    def tallies(self) -> tuple[list[Tally], list[Tally]]:
        """Per source channel (lead.source) and per campaign: leads, MQL+, SQL, conversions, won by currency,
        cost by currency. One pass over leads each, grouped in SQL."""
        o = opportunity_outcomes
        won = (sa.select(o.c.lead_id, o.c.currency, sa.func.sum(o.c.amount).label("amount"))
               .where(o.c.won).group_by(o.c.lead_id, o.c.currency).subquery())

        def counts(key: sa.ColumnElement) -> sa.Select:
            return (sa.select(key.label("key"), sa.func.count().label("leads"),
                              sa.func.count().filter(leads.c.qualification.in_([MQL, SQL])).label("mql"),
                              sa.func.count().filter(leads.c.qualification == SQL).label("sql"),
                              sa.func.count().filter(leads.c.state == "CONVERTED").label("conversions"))
                    .group_by(key))

        def won_by(key: sa.ColumnElement) -> sa.Select:
            return (sa.select(key.label("key"), won.c.currency, sa.func.sum(won.c.amount).label("amount"))
                    .select_from(leads.join(won, won.c.lead_id == leads.c.id)).group_by(key, won.c.currency))

        source_key = leads.c.source
        campaign_key = sa.cast(leads.c.campaign_id, sa.Text)
        by_source = {r.key: r for r in self.session.execute(counts(source_key))}
        with_campaign = leads.c.campaign_id.is_not(None)
        by_campaign = {r.key: r for r in self.session.execute(counts(campaign_key).where(with_campaign))}
        source_won: dict[str, dict[str, Decimal]] = {}
        for r in self.session.execute(won_by(source_key)):
            source_won.setdefault(r.key, {})[r.currency] = r.amount
        campaign_won: dict[str, dict[str, Decimal]] = {}
        for r in self.session.execute(won_by(campaign_key).where(with_campaign)):
            campaign_won.setdefault(r.key, {})[r.currency] = r.amount
        all_campaigns = list(self.session.execute(
            sa.select(campaigns).order_by(campaigns.c.create_time, campaigns.c.id)))
        channel_cost: dict[str, dict[str, Decimal]] = {}
        for c in all_campaigns:
            per = channel_cost.setdefault(c.channel, {})
            per[c.currency] = per.get(c.currency, Decimal(0)) + c.cost

        def tally(key: str, name: str, row, won_amounts: dict, cost: dict) -> Tally:
            return Tally(key=key, display_name=name, leads=row.leads if row else 0, mql=row.mql if row else 0,
                         sql=row.sql if row else 0, conversions=row.conversions if row else 0,
                         won=won_amounts, cost=cost)

        sources = sorted(set(by_source) | set(channel_cost))
        source_rows = [tally(s, s, by_source.get(s), source_won.get(s, {}), channel_cost.get(s, {})) for s in sources]
        campaign_rows = [tally(f"campaigns/{c.id}", c.display_name, by_campaign.get(str(c.id)),
                               campaign_won.get(str(c.id), {}), {c.currency: c.cost}) for c in all_campaigns]
        return source_rows, campaign_rows
