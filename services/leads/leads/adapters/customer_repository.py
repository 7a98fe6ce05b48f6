"""The customer aggregate in PostgreSQL: customers and their contacts (the decision chain)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from leads.adapters import lists
from leads.adapters.keyset import newest_first
from leads.adapters.orm import contacts, customers, org
from leads.domain.customers import CONTACT_FIELDS, Contact, Customer
from shangji_kit import filtering, ordering, plans, visibility
from shangji_kit.errors import Aborted
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page

_CUSTOMER = ("id", "display_name", "region", "industry", "size", "grade", "owner_id", "create_time", "update_time",
             "version", "chain_revision")
_CONTACT = ("id", "customer_id", *CONTACT_FIELDS, "create_time", "update_time", "lead_id", "version")


def _customer(row) -> Customer:
    return Customer(**{c: getattr(row, c) for c in _CUSTOMER})


def _contact(row) -> Contact:
    return Contact(**{c: getattr(row, c) for c in _CONTACT})


def _param(table: sa.Table, column: str) -> sa.BindParameter:
    return sa.bindparam(column, type_=table.c[column].type)


# What a conversion runs, built once (building them per call was a fifth of ConvertLead's CPU in the front). All by
# key, so PostgreSQL may keep their plans (``plans``).
_LOCK_KEY = sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(sa.bindparam("lock_key", type_=sa.Text))))
_FIND_BY_KEY = plans.generic(sa.select(customers).where(customers.c.name_key == _param(customers, "name_key"),
                                                        customers.c.region_key == _param(customers, "region_key"))
                             .with_for_update())
_ADD = plans.generic(sa.insert(customers).values({c: _param(customers, c)
                                                  for c in (*_CUSTOMER, "name_key", "region_key")}))
_SAVE_CHAIN_REVISION = plans.generic(sa.update(customers).where(customers.c.id == sa.bindparam("match_id"))
                                     .values(chain_revision=_param(customers, "chain_revision")))
_ADD_CONTACT = plans.generic(sa.insert(contacts).values({c: _param(contacts, c) for c in _CONTACT}))
_CHAIN = plans.generic(sa.select(contacts).where(contacts.c.customer_id == _param(contacts, "customer_id"))
                       .order_by(contacts.c.create_time, contacts.c.id))
# A customer by id whoever asks (a viewer's read adds the list's rule, built per call, not marked).
_BY_ID = plans.generic(sa.select(customers).where(customers.c.id == _param(customers, "id")))
_GET = {False: _BY_ID, True: _BY_ID.with_for_update(of=customers)}


class CustomerRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def visible(self, viewer: visibility.Viewer) -> sa.ColumnElement[bool]:
        return visibility.visible_clause(viewer, org, customers.c.owner_id)

    def lock_key(self, name_key: str, region_key: str) -> None:
        """Serialise creations of one company within a region until commit (conversions and creates)."""
        self.session.execute(_LOCK_KEY, {"lock_key": f"leads.customer:{name_key}:{region_key}"})

    def find_by_key(self, name_key: str, region_key: str) -> Customer | None:
        row = self.session.execute(_FIND_BY_KEY, {"name_key": name_key, "region_key": region_key}).first()
        return _customer(row) if row else None

    def add(self, customer: Customer) -> None:
        name_key, region_key = customer.keys
        self.session.execute(_ADD, {**{c: getattr(customer, c) for c in _CUSTOMER}, "name_key": name_key,
                                    "region_key": region_key})

    def get(self, customer_id: str, viewer: visibility.Viewer | None = None, *, for_update: bool = False
            ) -> Customer | None:
        """The customer (only when ``viewer`` may see it, when given); None when missing or hidden."""
        if viewer is None:
            row = self.session.execute(_GET[for_update], {"id": customer_id}).first()
            return _customer(row) if row else None
        stmt = sa.select(customers).where(customers.c.id == customer_id, self.visible(viewer))
        if for_update:
            stmt = stmt.with_for_update(of=customers)
        row = self.session.execute(stmt).first()
        return _customer(row) if row else None

    def list_visible(self, viewer: visibility.Viewer, query: ListQuery) -> Page[Customer]:
        """One page of the customers ``viewer`` may see that pass ``query``'s filter, in its order."""
        order = ordering.ordering(query.order_by, lists.customer_sort_keys(query.search_terms()))
        return ordering.read_page(self.session, self._listed(viewer, query), order, customers.c.id,
                                  query.filter.text, query.page_token, query.limit, _customer)

    def count_contact_rows(self, viewer: visibility.Viewer, query: ListQuery) -> int:
        """The rows of an export of ``list_visible``'s customers: one per contact, one for a customer without."""
        def rows_of(listed: sa.Subquery) -> sa.ColumnElement[int]:
            held = sa.select(sa.func.count()).where(contacts.c.customer_id == listed.c.id).scalar_subquery()
            return sa.func.greatest(held, 1)
        return ordering.count_rows(self.session, self._listed(viewer, query), rows_of)

    def _listed(self, viewer: visibility.Viewer, query: ListQuery) -> sa.Select:
        where = filtering.compile_filter(query.filter, lists.CUSTOMER_FIELDS)
        return sa.select(customers).where(self.visible(viewer), where)

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
        self.session.execute(_SAVE_CHAIN_REVISION, {"match_id": customer.id, "chain_revision": customer.chain_revision})

    # --- contacts ---

    def add_contact(self, contact: Contact) -> None:
        self.session.execute(_ADD_CONTACT, {c: getattr(contact, c) for c in _CONTACT})

    def get_contact(self, contact_id: str) -> Contact | None:
        row = self.session.execute(sa.select(contacts).where(contacts.c.id == contact_id)).first()
        return _contact(row) if row else None

    def chain(self, customer_id: str) -> tuple[Contact, ...]:
        """Every contact of the customer, oldest first: the account-level decision chain."""
        return tuple(_contact(r) for r in self.session.execute(_CHAIN, {"customer_id": customer_id}))

    def chains(self, customer_ids: list[str]) -> dict[str, tuple[Contact, ...]]:
        """``chain`` of many customers in one query (a page of customers)."""
        found: dict[str, list[Contact]] = {i: [] for i in customer_ids}
        stmt = (sa.select(contacts).where(contacts.c.customer_id.in_(customer_ids))
                .order_by(contacts.c.customer_id, contacts.c.create_time, contacts.c.id))
        for row in self.session.execute(stmt):
            found[row.customer_id].append(_contact(row))
        return {i: tuple(c) for i, c in found.items()}

    def list_contacts(self, customer_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Contact]:
        stmt = newest_first(contacts, sa.select(contacts).where(contacts.c.customer_id == customer_id), after)
        stmt = stmt.limit(limit)
        return [_contact(r) for r in self.session.execute(stmt)]

    def update_contact(self, contact: Contact, expected_version: int) -> None:
        values = {c: getattr(contact, c) for c in CONTACT_FIELDS}
        stmt = (sa.update(contacts).where(contacts.c.id == contact.id, contacts.c.version == expected_version)
                .values(**values, version=contact.version, update_time=contact.update_time))
        if self.session.execute(stmt).rowcount == 0:
            raise Aborted(f"{contact.name} was changed concurrently; re-read it and retry",
                          metadata={"resource": contact.name})
