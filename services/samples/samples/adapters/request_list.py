"""Lists of sample requests in SQL: each filter field and sort key of ``domain.request_list`` over the rows."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from samples.adapters.orm import org, sample_requests
from samples.domain import model
from shangji_kit import filtering as f
from shangji_kit import text_search, visibility
from shangji_kit.ordering import SortKey

r = sample_requests
SEARCHED = (r.c.customer_company, r.c.recipient_name, r.c.purpose)
_STATES = {s.upper(): s for s in (model.PENDING_APPROVAL, model.APPROVED, model.REJECTED, model.WITHDRAWN,
                                  model.ORDERED, model.SHIPPED, model.DELIVERED)}
# Still to reach the customer: a wanted-by date before today is overdue only for these.
_UNDELIVERED = (model.PENDING_APPROVAL, model.APPROVED, model.ORDERED, model.SHIPPED)


def _department(op: str, dept: str) -> sa.ColumnElement[bool]:
    inside = visibility.in_department(org, r.c.requester_id, dept)
    return inside if op == "=" else sa.not_(inside)


def _search(op: str, term: str) -> sa.ColumnElement[bool]:
    if not term.strip():
        raise f.bad_filter("search: expected a non-empty text")
    found = text_search.matches(SEARCHED, term)
    return found if op == "=" else sa.not_(found)


def _customer(lit: f.Literal) -> str:
    return f"customers/{f.resource_id_value('customers')(lit)}"


def filter_fields(today: date) -> f.Fields:
    """The filter's fields; ``today`` is the company's date (overdue)."""
    return {
        "state": f.Column(r.c.state, f.choice_value(_STATES)),
        "kind": f.Column(r.c.kind, f.choice_value({"STANDARD": model.STANDARD, "POC": model.POC})),
        "requester": f.Column(r.c.requester_id, f.resource_id_value("users")),
        "department": f.Predicate(_department, f.resource_id_value("departments")),
        "opportunity": f.Column(r.c.opportunity_id, f.resource_id_value("opportunities")),
        "customer": f.Column(r.c.customer, _customer),
        "estimated_cost": f.Column(r.c.estimated_cost, f.decimal_value, f.ORDERED),
        "wanted_by_date": f.Column(r.c.wanted_by_date, f.date_value, f.ORDERED),
        "overdue": f.Flag(lambda: sa.and_(r.c.state.in_(_UNDELIVERED), r.c.wanted_by_date < today)),
        "create_time": f.Column(r.c.create_time, f.time_value, f.ORDERED),
        "update_time": f.Column(r.c.update_time, f.time_value, f.ORDERED),
        "search": f.Predicate(_search),
    }


def sort_keys(search_terms: list[str]) -> dict[str, SortKey]:
    return {
        "create_time": SortKey(r.c.create_time, "time"),
        "update_time": SortKey(r.c.update_time, "time"),
        "wanted_by_date": SortKey(r.c.wanted_by_date, "date", nullable=True),
        "estimated_cost": SortKey(r.c.estimated_cost, "decimal"),
        "customer_company": SortKey(r.c.customer_company, "text"),
        "relevance": SortKey(text_search.rank(SEARCHED, search_terms), "float"),
    }
