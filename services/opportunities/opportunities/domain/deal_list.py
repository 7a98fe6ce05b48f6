"""What a list of deals may be filtered and ordered by (README, "Lists"): the names the API accepts."""

from __future__ import annotations

FILTER_FIELDS = frozenset({
    "stage", "state", "registration_state", "owner", "department", "customer", "region", "source", "pipeline",
    "amount", "expected_close_date", "closing_within_days", "overdue", "pending_arbitration", "unassigned",
    "create_time", "update_time", "search",
})
ORDER_FIELDS = ("create_time", "update_time", "amount", "expected_close_date", "title", "customer_company",
                "relevance")
DEFAULT_ORDER = "create_time desc"
