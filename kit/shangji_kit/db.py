"""SQLAlchemy 2.0 engines and connections, one engine per service database per process.

Units of work run on Core connections, not ORM sessions: the repositories issue Core statements
only, and the Session's execution path cost a front measurable CPU per call for nothing it used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import sqlalchemy as sa

from shangji_kit import settings

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def engine(url: str, *, pool_size: int = 10) -> sa.Engine:
    """The process's engine for ``url`` (created on first use): up to 2 x ``pool_size`` connections at
    once, of which SHANGJI_DB_POOL_IDLE (default: all) stay open when idle."""
    with _lock:
        eng = _engines.get(url)
        if eng is None:
            # Custom plans always: psycopg prepares a statement after a few runs, and PostgreSQL's
            # generic plan for the visibility filter cannot see the LIKE prefix or the viewer's rows
            # (measured on 1M deals: a manager's page 13 ms prepared-generic vs 5-7 ms custom).
            # A machine running the whole suite (tests, the demo) holds a dozen pools on one PostgreSQL;
            # idle connections kept beyond a few per pool exhaust its max_connections, so tests keep fewer.
            kept = min(pool_size, int(settings.env("SHANGJI_DB_POOL_IDLE", str(pool_size))))
            eng = sa.create_engine(url, pool_size=kept, max_overflow=2 * pool_size - kept, pool_recycle=1800,
                                   connect_args={"options": "-c plan_cache_mode=force_custom_plan"})
            _engines[url] = eng
        return eng


def connection_factory(url: str, *, pool_size: int = 10) -> Callable[[], sa.Connection]:
    """Each call checks a connection out of the pool; it begins a transaction on first use."""
    return engine(url, pool_size=pool_size).connect


def dispose_all() -> None:
    with _lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()


def libpq_dsn(url: str) -> str:
    """A SQLAlchemy URL as a plain libpq DSN (for raw psycopg connections: relay, LISTEN)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def is_ready(url: str) -> bool:
    """Readiness: the database answers a trivial query."""
    try:
        with engine(url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:  # any failure means not ready; the reason is in the database's own log
        return False


def engines() -> dict[str, sa.Engine]:
    """The process's engines by URL (a copy), for pool metrics."""
    with _lock:
        return dict(_engines)
