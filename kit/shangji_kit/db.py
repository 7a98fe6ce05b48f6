"""SQLAlchemy 2.0 engines and connections, one engine per service database per process, sized from
one connection budget.

Units of work run on Core connections, not ORM sessions: the repositories issue Core statements
only, and the Session's execution path cost a front measurable CPU per call for nothing it used.

The budget. PostgreSQL refuses connections past max_connections (100 on CI; "too many clients"), and
one machine runs the demo, a test session and a benchmark at once: three suites of six fronts and six
workers. SHANGJI_DB_CONNECTION_BUDGET (default 30) is what ONE running suite may hold at its peak;
every process takes its share of it (``pool_limit``):

| process | connections at most (budget 30 / 60) | why |
| --- | --- | --- |
| a service's share | budget / 6 (5 / 10) | six services |
| worker: outbox relay | 1 (1 / 1) | LISTEN and claims on one connection, outside the pool |
| worker: pool | (share - 1) / 3, at least 1 (1 / 3) | handlers are short; events queue in RabbitMQ |
| front: settings cache | 1 per process (1 / 1) | ``process_cache``'s LISTEN connection, outside the pool |
| front: pool | the rest (at least 2) / SHANGJI_GRPC_PROCESSES, less the cache (2 / 5) | calls wait (10 s) for one |
| anything else (tests, scripts, CLI) | 2 | |

Three suites at 30 hold at most 90 connections: within 100 with PostgreSQL's reserved superuser
slots. A benchmark run alone may raise its budget (60). On Kubernetes the budget counts per replica:
set SHANGJI_DB_CONNECTION_BUDGET to (the server's max_connections - 10) / the largest replica count of
the deployments sharing that server, or give one process an exact SHANGJI_DB_POOL_MAX. Each process
names itself to PostgreSQL (application_name ``shangji:<service>:<role>:<pid>``) so ``connections_by_process``
can show who holds what.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import sqlalchemy as sa

from shangji_kit import plans, settings

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()

FRONT, WORKER, TOOL = "front", "worker", "tool"
RELAY_CONNECTIONS = 1
CACHE_CONNECTIONS = 1
TOOL_CONNECTIONS = 2
_role = {"role": TOOL, "processes": 1}


def set_role(service: str, role: str, *, processes: int = 1) -> None:
    """Say what this process is (a front of ``processes`` copies, a worker), before its first engine.

    Also sets PGAPPNAME, which libpq reads for every connection this process opens (pools and raw
    relay connections alike), so the server can tell the processes apart.
    """
    _role.update(role=role, processes=max(1, processes))
    os.environ["PGAPPNAME"] = f"shangji:{service}:{role}:{os.getpid()}"


def budget() -> int:
    return max(len(settings.SERVICES), int(settings.env("SHANGJI_DB_CONNECTION_BUDGET", "30")))


def pool_limit(role: str | None = None, processes: int | None = None) -> int:
    """Most connections this process's pool for one database may hold (see the table above)."""
    explicit = settings.env("SHANGJI_DB_POOL_MAX", "")
    if explicit:
        return max(1, int(explicit))
    role = role or _role["role"]
    share = budget() // len(settings.SERVICES)
    worker = max(1, (share - RELAY_CONNECTIONS) // 3)
    if role == WORKER:
        return worker
    if role == FRONT:
        front = max(2, share - RELAY_CONNECTIONS - worker)
        return max(1, front // (processes or _role["processes"]) - CACHE_CONNECTIONS)
    return TOOL_CONNECTIONS


def engine(url: str, *, pool_size: int = 10) -> sa.Engine:
    """The process's engine for ``url`` (created on first use): ``pool_size`` is what the caller would
    like; the budget caps it (``pool_limit``), and SHANGJI_DB_POOL_IDLE of them stay open when idle."""
    with _lock:
        eng = _engines.get(url)
        if eng is None:
            # Statements are prepared only when marked (``plans.generic``: key lookups and keyed writes),
            # so PostgreSQL's plan_cache_mode = auto may keep a generic plan for them alone; everything else,
            # the visibility lists first (a generic plan cannot see their LIKE prefix: a manager's page on 1M
            # deals 13 ms generic vs 5-7 ms custom), is sent unprepared and planned for its values each time.
            most = min(2 * pool_size, pool_limit())
            kept = min(most, int(settings.env("SHANGJI_DB_POOL_IDLE", str(most))))
            eng = sa.create_engine(url, pool_size=kept, max_overflow=most - kept, pool_recycle=1800, pool_timeout=10,
                                   connect_args=dict(plans.CONNECT_ARGS))
            plans.install(eng)
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


def connections_by_process(server_url: str, database_prefix: str = "") -> dict[str, int]:
    """Open connections to databases named ``database_prefix*``, by application_name (see ``set_role``)."""
    eng = sa.create_engine(server_url, poolclass=sa.pool.NullPool)
    try:
        with eng.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT coalesce(nullif(application_name, ''), '?') AS who, count(*) FROM pg_stat_activity "
                "WHERE datname LIKE :prefix AND pid <> pg_backend_pid() GROUP BY 1"),
                {"prefix": database_prefix.replace("_", "\\_") + "%"})
            return {r.who: r.count for r in rows}
    finally:
        eng.dispose()


def engines() -> dict[str, sa.Engine]:
    """The process's engines by URL (a copy), for pool metrics."""
    with _lock:
        return dict(_engines)
