"""Text search in lists (``search = "..."`` in a filter): substring match, ranked by trigram similarity.

A row matches when any of its searched columns contains the term, case-insensitively: a substring
match, so two Chinese characters (华创) find 深圳市华创精密制造有限公司, which a word-based search
cannot segment. pg_trgm's GIN indexes (``gin_trgm_ops``, created by each service's migration) serve
``ILIKE '%term%'`` for terms of three characters or more; the rank is the best ``similarity`` of the
term to any searched column, so "华创精密" ranks the company named exactly that above a longer name.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

MAX_TERM_LENGTH = 200


def matches(columns: Sequence[sa.ColumnElement], term: str) -> sa.ColumnElement[bool]:
    return sa.or_(*(sa.func.coalesce(c, "").icontains(term.strip(), autoescape=True) for c in columns))


def rank(columns: Sequence[sa.ColumnElement], terms: Sequence[str]) -> sa.ColumnElement[float]:
    """0 without terms; else the greatest similarity of a term to a column, as double precision."""
    if not terms:
        return sa.cast(sa.literal(0.0), pg.DOUBLE_PRECISION)
    scores = [sa.func.similarity(sa.func.coalesce(c, ""), t.strip()) for c in columns for t in terms]
    return sa.cast(sa.func.greatest(*scores), pg.DOUBLE_PRECISION)
