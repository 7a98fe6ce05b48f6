"""What lists of leads and of customers may be filtered and ordered by (README, "Lists"): the names the API accepts."""

from __future__ import annotations

LEAD_FILTER_FIELDS = frozenset({
    "state", "owner", "department", "customer", "campaign", "region", "source", "industry", "qualification", "score",
    "unassigned", "create_time", "update_time", "last_follow_up_time", "search",
})
LEAD_ORDER_FIELDS = ("create_time", "update_time", "score", "company", "last_follow_up_time", "relevance")

CUSTOMER_FILTER_FIELDS = frozenset({
    "owner", "department", "region", "industry", "size", "grade", "create_time", "update_time", "search",
})
CUSTOMER_ORDER_FIELDS = ("create_time", "update_time", "display_name", "relevance")

DEFAULT_ORDER = "create_time desc"
