"""What a deal's list of tasks may be filtered and ordered by (README, "Lists"): the names the API accepts."""

from __future__ import annotations

FILTER_FIELDS = frozenset({"state", "assignee", "creator", "stage", "due_date", "overdue", "create_time",
                           "complete_time"})
ORDER_FIELDS = ("due_date", "create_time", "complete_time", "title")
DEFAULT_ORDER = "create_time"
