"""Lists of leads and of customers in SQL: each filter field and sort key of ``domain.lists`` over their rows."""

from __future__ import annotations

import sqlalchemy as sa

from leads.adapters.orm import contacts, customers, follow_ups, leads, org
from shangji_kit import filtering as f
from shangji_kit import text_search, visibility
from shangji_kit.ordering import SortKey

LEAD_SEARCHED = (leads.c.company, leads.c.contact_name, leads.c.contact_title, leads.c.notes)
CUSTOMER_SEARCHED = (customers.c.display_name,)


def _department(owner_col):
    def build(op: str, dept: str) -> sa.ColumnElement[bool]:
        inside = visibility.in_department(org, owner_col, dept)
        return inside if op == "=" else sa.not_(inside)
    return f.Predicate(build, f.resource_id_value("departments"))


def _non_empty(term: str) -> str:
    if not term.strip():
        raise f.bad_filter("search: expected a non-empty text")
    return term.strip()


def _lead_search(op: str, term: str) -> sa.ColumnElement[bool]:
    term = _non_empty(term)
    noted = sa.exists().where(follow_ups.c.lead_id == leads.c.id, follow_ups.c.note.icontains(term, autoescape=True))
    found = sa.or_(text_search.matches(LEAD_SEARCHED, term), noted)
    return found if op == "=" else sa.not_(found)


def _customer_search(op: str, term: str) -> sa.ColumnElement[bool]:
    term = _non_empty(term)
    contact = sa.exists().where(contacts.c.customer_id == customers.c.id,
                                text_search.matches((contacts.c.display_name, contacts.c.title), term))
    found = sa.or_(text_search.matches(CUSTOMER_SEARCHED, term), contact)
    return found if op == "=" else sa.not_(found)


def _grade(lit: f.Literal) -> str:
    return lit.text.strip().upper()


LEAD_FIELDS: f.Fields = {
    "state": f.Column(leads.c.state, f.choice_value({"OPEN": "OPEN", "CONVERTED": "CONVERTED"})),
    "owner": f.Column(leads.c.owner_id, f.resource_id_value("users")),
    "department": _department(leads.c.owner_id),
    "customer": f.Column(leads.c.customer_id, f.resource_id_value("customers")),
    "campaign": f.Column(leads.c.campaign_id, f.resource_id_value("campaigns")),
    "region": f.Column(leads.c.region),
    "source": f.Column(leads.c.source),
    "industry": f.Column(leads.c.industry),
    "qualification": f.Column(leads.c.qualification,
                              f.choice_value({"UNQUALIFIED": "UNQUALIFIED", "MQL": "MQL", "SQL": "SQL"})),
    "score": f.Column(leads.c.score, f.integer_value, f.ORDERED),
    "unassigned": f.Flag(lambda: leads.c.owner_id.is_(None)),
    "create_time": f.Column(leads.c.create_time, f.time_value, f.ORDERED),
    "update_time": f.Column(leads.c.update_time, f.time_value, f.ORDERED),
    "last_follow_up_time": f.Column(leads.c.last_follow_up_time, f.time_value, f.ORDERED),
    "search": f.Predicate(_lead_search),
}

CUSTOMER_FIELDS: f.Fields = {
    "owner": f.Column(customers.c.owner_id, f.resource_id_value("users")),
    "department": _department(customers.c.owner_id),
    "region": f.Column(customers.c.region),
    "industry": f.Column(customers.c.industry),
    "size": f.Column(customers.c.size),
    "grade": f.Column(customers.c.grade, _grade),  # stored upper-case (domain.customers)
    "create_time": f.Column(customers.c.create_time, f.time_value, f.ORDERED),
    "update_time": f.Column(customers.c.update_time, f.time_value, f.ORDERED),
    "search": f.Predicate(_customer_search),
}


def lead_sort_keys(search_terms: list[str]) -> dict[str, SortKey]:
    return {
        "create_time": SortKey(leads.c.create_time, "time"),
        "update_time": SortKey(leads.c.update_time, "time"),
        "score": SortKey(leads.c.score, "int"),
        "company": SortKey(leads.c.company, "text"),
        "last_follow_up_time": SortKey(leads.c.last_follow_up_time, "time", nullable=True),
        "relevance": SortKey(text_search.rank(LEAD_SEARCHED[:2], search_terms), "float"),
    }


def customer_sort_keys(search_terms: list[str]) -> dict[str, SortKey]:
    return {
        "create_time": SortKey(customers.c.create_time, "time"),
        "update_time": SortKey(customers.c.update_time, "time"),
        "display_name": SortKey(customers.c.display_name, "text"),
        "relevance": SortKey(text_search.rank(CUSTOMER_SEARCHED, search_terms), "float"),
    }
