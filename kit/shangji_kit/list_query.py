"""A list request as the use case hands it to a repository: the parsed filter, the canonical order, the page.

Everything the caller can get wrong is checked here, before any database work: the page size and the
filter's syntax and field names (INVALID_ARGUMENT on ``page_size``, ``filter``, ``order_by``); the page
token is checked against the order and the filter when the page is read (``ordering.read_page``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from shangji_kit import filtering, ordering, paging


@dataclass(frozen=True)
class ListQuery:
    filter: filtering.Filter
    order_by: str  # canonical, from ordering.parse_order_by
    page_token: str
    limit: int

    def search_terms(self) -> list[str]:
        return [v.text for v in self.filter.values_of("search")]


def list_query(filter_text: str, order_by: str, page_token: str, page_size: int, *,
               filter_fields: Collection[str], order_fields: Collection[str], default_order: str,
               search_order: str = "relevance desc") -> ListQuery:
    """Check a List request's filter, order_by and page_size against the list's allowed fields. Without an
    order_by, a list is in ``default_order``, or ``search_order`` (most relevant first) when the filter searches."""
    limit = paging.page_size(page_size)
    flt = filtering.parse_filter(filter_text)
    filtering.check_fields(flt, set(filter_fields))
    default = search_order if "search" in flt.fields() else default_order
    return ListQuery(flt, ordering.parse_order_by(order_by, list(order_fields), default), page_token, limit)
