"""What a list of sample requests may be filtered and ordered by (README, "Lists"): the names the API accepts."""

from __future__ import annotations

FILTER_FIELDS = frozenset({
    "state", "kind", "requester", "department", "opportunity", "customer", "estimated_cost", "wanted_by_date",
    "overdue", "create_time", "update_time", "search",
})
ORDER_FIELDS = ("create_time", "update_time", "wanted_by_date", "estimated_cost", "customer_company", "relevance")
DEFAULT_ORDER = "create_time desc"
