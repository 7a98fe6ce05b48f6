"""Customers, contacts, campaigns and the source report in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from leads.adapters.orm import campaigns, contacts, customers, leads, opportunity_outcomes, org
from leads.domain.campaigns import Campaign, Tally
from leads.domain.customers import CONTACT_FIELDS, Contact, Customer
from leads.domain.scoring import MQL, SQL
from shangji_kit import visibility
from shangji_kit.errors import Aborted

_CUSTOMER = ("id", "display_name", "region", "industry", "size", "grade", "owner_id", "create_time", "update_time",
             "version", "chain_revision")
_CONTACT = ("id", "customer_id", *CONTACT_FIELDS, "create_time", "update_time", "lead_id", "version")
_CAMPAIGN = ("id", "display_name", "channel", "cost", "currency", "start_date", "end_date", "create_time",
             "update_time", "version")


def _customer(row) -> Customer:
    return Customer(**{c: getattr(row, c) for c in _CUSTOMER})


def _contact(row) -> Contact:
    return Contact(**{c: getattr(row, c) for c in _CONTACT})


def _campaign(row) -> Campaign:
    return Campaign(**{c: getattr(row, c) for c in _CAMPAIGN})


def _keyset(table: sa.Table, stmt: sa.Select, after: tuple[datetime, str] | None) -> sa.Select:
    """Newest first, then id, from after the last row of the previous page."""
    if after is not None:
        time, last_id = after
        stmt = stmt.where(sa.or_(table.c.create_time < time,
                                 sa.and_(table.c.create_time == time, table.c.id > last_id)))
    return stmt.order_by(table.c.create_time.desc(), table.c.id)


class CustomerRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def visible(self, viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
        return visibility.visible_clause(viewer, org, customers.c.owner_id)

    def lock_key(self, name_key: str, region_key: str) -> None:
        """Serialise creations of one company within a region until commit (conversions and creates)."""
        self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            sa.func.hashtext(f"leads.customer:{name_key}:{region_key}"))))

    def find_by_key(self, name_key: str, region_key: str) -> Customer | None:
        row = self.session.execute(sa.select(customers).where(customers.c.name_key == name_key,
                                                              customers.c.region_key == region_key)
                                   .with_for_update()).first()
        return _customer(row) if row else None

    def add(self, customer: Customer, request_id: str | None) -> None:
        name_key, region_key = customer.keys
        self.session.execute(sa.insert(customers).values(
            **{c: getattr(customer, c) for c in _CUSTOMER}, name_key=name_key, region_key=region_key,
            request_id=request_id or None))

    def request_taken(self, request_id: str) -> bool:
        return self.session.execute(sa.select(sa.exists().where(customers.c.request_id == request_id))).scalar_one()

    def get_by_request_id(self, request_id: str) -> Customer | None:
        row = self.session.execute(sa.select(customers).where(customers.c.request_id == request_id)).first()
        return _customer(row) if row else None

    def get(self, customer_id: str, viewer: visibility.Viewer | None = None, *, for_update: bool = False
            ) -> Customer | None:
        """The customer (only when ``viewer`` may see it, when given); None when missing or hidden."""
        stmt = sa.select(customers).where(customers.c.id == customer_id)
        if viewer is not None:
            stmt = stmt.where(self.visible(viewer))
        if for_update:
            stmt = stmt.with_for_update(of=customers)
        row = self.session.execute(stmt).first()
        return _customer(row) if row else None

    def list_visible(self, viewer: visibility.Viewer, limit: int, after: tuple[datetime, str] | None) -> list[Customer]:
        stmt = _keyset(customers, sa.select(customers).where(self.visible(viewer)), after).limit(limit)
        return [_customer(r) for r in self.session.execute(stmt)]

    def update(self, customer: Customer, expected_version: int) -> None:
        name_key, region_key = customer.keys
        values = {c: getattr(customer, c) for c in _CUSTOMER if c not in ("id", "create_time")}
        stmt = (sa.update(customers).where(customers.c.id == customer.id, customers.c.version == expected_version)
                .values(**values, name_key=name_key, region_key=region_key))
        if self.session.execute(stmt).rowcount == 0:
            raise Aborted(f"{customer.name} was changed concurrently; re-read it and retry",
                          metadata={"resource": customer.name})

    def name_taken(self, name_key: str, region_key: str, except_id: str) -> str | None:
        """The id of another customer with this folded name in this region, if any."""
        return self.session.execute(sa.select(customers.c.id).where(
            customers.c.name_key == name_key, customers.c.region_key == region_key,
            customers.c.id != except_id)).scalar()

    def hand_over(self, from_owner_id: str, to_owner_id: str, now: datetime) -> list[Customer]:
        """Every customer of ``from_owner_id`` to ``to_owner_id`` (a new version each); the customers moved."""
        stmt = (sa.update(customers).where(customers.c.owner_id == from_owner_id)
                .values(owner_id=to_owner_id, version=customers.c.version + 1, update_time=now)
                .returning(*customers.c))
        return [_customer(r) for r in self.session.execute(stmt)]

    def save_chain_revision(self, customer: Customer) -> None:
        """Store the chain revision the domain advanced (the customer row is locked by the caller)."""
        self.session.execute(sa.update(customers).where(customers.c.id == customer.id)
                             .values(chain_revision=customer.chain_revision))

    # --- contacts ---

    def add_contact(self, contact: Contact, request_id: str | None = None) -> None:
        self.session.execute(sa.insert(contacts).values(**{c: getattr(contact, c) for c in _CONTACT},
                                                        request_id=request_id or None))

    def contact_by_request_id(self, request_id: str) -> Contact | None:
        row = self.session.execute(sa.select(contacts).where(contacts.c.request_id == request_id)).first()
        return _contact(row) if row else None

    def get_contact(self, contact_id: str) -> Contact | None:
        row = self.session.execute(sa.select(contacts).where(contacts.c.id == contact_id)).first()
        return _contact(row) if row else None

    def chain(self, customer_id: str) -> tuple[Contact, ...]:
        """Every contact of the customer, oldest first: the account-level decision chain."""
        stmt = (sa.select(contacts).where(contacts.c.customer_id == customer_id)
                .order_by(contacts.c.create_time, contacts.c.id))
        return tuple(_contact(r) for r in self.session.execute(stmt))

    def chains(self, customer_ids: list[str]) -> dict[str, tuple[Contact, ...]]:
        """``chain`` of many customers in one query (a page of customers)."""
        found: dict[str, list[Contact]] = {i: [] for i in customer_ids}
        stmt = (sa.select(contacts).where(contacts.c.customer_id.in_(customer_ids))
                .order_by(contacts.c.customer_id, contacts.c.create_time, contacts.c.id))
        for row in self.session.execute(stmt):
            found[row.customer_id].append(_contact(row))
        return {i: tuple(c) for i, c in found.items()}

    def list_contacts(self, customer_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Contact]:
        stmt = _keyset(contacts, sa.select(contacts).where(contacts.c.customer_id == customer_id), after).limit(limit)
        return [_contact(r) for r in self.session.execute(stmt)]

    def update_contact(self, contact: Contact, expected_version: int) -> None:
        values = {c: getattr(contact, c) for c in CONTACT_FIELDS}
        stmt = (sa.update(contacts).where(contacts.c.id == contact.id, contacts.c.version == expected_version)
                .values(**values, version=contact.version, update_time=contact.update_time))
        if self.session.execute(stmt).rowcount == 0:
            raise Aborted(f"{contact.name} was changed concurrently; re-read it and retry",
                          metadata={"resource": contact.name})


class CampaignRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, campaign: Campaign, request_id: str | None) -> bool:
        """Insert; False when the request id is already taken (nothing written)."""
        values = {c: getattr(campaign, c) for c in _CAMPAIGN}
        stmt = (pg.insert(campaigns).values(**values, request_id=request_id or None)
                .on_conflict_do_nothing(index_elements=[campaigns.c.request_id]).returning(campaigns.c.id))
        return self.session.execute(stmt).first() is not None

    def get_by_request_id(self, request_id: str) -> Campaign | None:
        row = self.session.execute(sa.select(campaigns).where(campaigns.c.request_id == request_id)).first()
        return _campaign(row) if row else None

    def get(self, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
        stmt = sa.select(campaigns).where(campaigns.c.id == campaign_id)
        row = self.session.execute(stmt.with_for_update() if for_update else stmt).first()
        return _campaign(row) if row else None

    def exists(self, campaign_id: str) -> bool:
        return self.session.execute(sa.select(sa.exists().where(campaigns.c.id == campaign_id))).scalar_one()

    def list(self, limit: int, after: tuple[datetime, str] | None) -> list[Campaign]:
        stmt = _keyset(campaigns, sa.select(campaigns), after).limit(limit)
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
