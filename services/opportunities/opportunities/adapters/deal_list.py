"""Deal lists in SQL: each filter field and sort key of ``domain.deal_list`` as a clause over the deal's row."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from opportunities.adapters.orm import activities, opportunities, org, pipeline_stages
from shangji_kit import filtering as f
from shangji_kit import text_search, visibility
from shangji_kit.ordering import SortKey

o = opportunities
_OPEN = pipeline_stages.c.category == "open"
_STATES = {"OPEN": "open", "WON": "won", "LOST": "lost"}
_REGISTRATION = {"ACTIVE": "active", "PENDING_ARBITRATION": "pending_arbitration", "REJECTED": "rejected",
                 "UNASSIGNED": "unassigned"}
SEARCHED = (o.c.customer_company, o.c.title, o.c.contact_name)


def _search(op: str, term: str) -> sa.ColumnElement[bool]:
    if not term.strip():
        raise f.bad_filter("search: expected a non-empty text")
    notes = sa.exists().where(activities.c.opportunity_id == o.c.id,
                              activities.c.notes.icontains(term.strip(), autoescape=True))
    found = sa.or_(text_search.matches(SEARCHED, term), notes)
    return found if op == "=" else sa.not_(found)


def _closing_within(today: date):
    def build(op: str, days: int) -> sa.ColumnElement[bool]:
        if op != "=" or not 0 <= days <= 3650:
            raise f.bad_filter("closing_within_days: expected = and a number of days from 0 to 3650")
        return sa.and_(_OPEN, o.c.expected_close_date.between(today, today + timedelta(days=days)))
    return build


def filter_fields(today: date) -> f.Fields:
    """The filter's fields; ``today`` is the company's date (overdue, closing within N days)."""
    return {
        "stage": f.Column(o.c.stage_key),
        "state": f.Column(pipeline_stages.c.category, f.choice_value(_STATES)),
        "registration_state": f.Column(o.c.registration_state, f.choice_value(_REGISTRATION)),
        "owner": f.Column(o.c.owner_id, f.resource_id_value("users")),
        "department": f.Predicate(lambda op, dept: visibility.in_department(org, o.c.owner_id, dept)
                                  if op == "=" else sa.not_(visibility.in_department(org, o.c.owner_id, dept)),
                                  f.resource_id_value("departments")),
        "customer": f.Column(o.c.customer_id, f.resource_id_value("customers")),
        "region": f.Column(o.c.region),
        "source": f.Column(o.c.source),
        "pipeline": f.Column(o.c.pipeline_id, f.resource_id_value("pipelines")),
        "amount": f.Column(o.c.amount, f.decimal_value, f.ORDERED),
        "expected_close_date": f.Column(o.c.expected_close_date, f.date_value, f.ORDERED),
        "closing_within_days": f.Predicate(_closing_within(today), f.integer_value, f.ORDERED),
        "overdue": f.Flag(lambda: sa.and_(_OPEN, o.c.expected_close_date < today)),
        "pending_arbitration": f.Flag(lambda: o.c.registration_state == "pending_arbitration"),
        "unassigned": f.Flag(lambda: o.c.owner_id.is_(None)),
        "create_time": f.Column(o.c.create_time, f.time_value, f.ORDERED),
        "update_time": f.Column(o.c.update_time, f.time_value, f.ORDERED),
        "search": f.Predicate(_search),
    }


def sort_keys(search_terms: list[str]) -> dict[str, SortKey]:
    return {
        "create_time": SortKey(o.c.create_time, "time"),
        "update_time": SortKey(o.c.update_time, "time"),
        "amount": SortKey(o.c.amount, "decimal", nullable=True),
        "expected_close_date": SortKey(o.c.expected_close_date, "date", nullable=True),
        "title": SortKey(o.c.title, "text"),
        "customer_company": SortKey(o.c.customer_company, "text"),
        "relevance": SortKey(text_search.rank(SEARCHED, search_terms), "float"),
    }
