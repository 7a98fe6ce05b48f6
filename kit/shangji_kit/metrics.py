"""Prometheus metrics of every process, served on ``SHANGJI_METRICS_PORT`` (nothing when unset).

- fronts: ``shangji_rpc_requests_total`` and ``shangji_rpc_duration_seconds`` by method and code
  (``rpc/observe.py`` records them);
- workers: events published, handled, retried and dead-lettered by queue (``publisher.py``,
  ``consumer.py``), and, read when scraped, the outbox's backlog and lag (the age of its oldest
  unsent row) from the service's database;
- both: database pool usage per database (checked out, idle in the pool, pool size).
"""

from __future__ import annotations

import psycopg
import sqlalchemy as sa
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shangji_kit import db, log
from shangji_kit.settings import env

_log = log.get(__name__)

RPC_REQUESTS = Counter("shangji_rpc_requests", "gRPC calls handled, by method and status code",
                       ["service", "method", "code"])
RPC_DURATION = Histogram("shangji_rpc_duration_seconds", "Time to answer a gRPC call, by method and status code",
                         ["service", "method", "code"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
EVENTS_PUBLISHED = Counter("shangji_events_published", "Events the relay published (broker-confirmed)",
                           ["service"])
EVENTS_HANDLED = Counter("shangji_events_handled", "Events a consumer processed, by queue and outcome "
                         "(ok, retry, dead_letter)", ["queue", "outcome"])

OUTBOX_BACKLOG_SQL = "SELECT count(*), extract(epoch FROM now() - min(created_at)) FROM outbox WHERE sent_at IS NULL"


def port() -> int | None:
    value = env("SHANGJI_METRICS_PORT", "")
    return int(value) if value else None


class PoolCollector(Collector):
    """Connection pools of this process's engines, read at scrape time."""

    def collect(self):
        checked_out = GaugeMetricFamily("shangji_db_pool_checked_out", "Connections in use", labels=["database"])
        idle = GaugeMetricFamily("shangji_db_pool_idle", "Connections open and idle in the pool", labels=["database"])
        size = GaugeMetricFamily("shangji_db_pool_size", "Connections the pool keeps", labels=["database"])
        for url, engine in db.engines().items():
            pool = engine.pool
            name = sa.make_url(url).database or ""
            if hasattr(pool, "checkedout"):
                checked_out.add_metric([name], pool.checkedout())
                idle.add_metric([name], pool.checkedin())
                size.add_metric([name], pool.size())
        yield from (checked_out, idle, size)


class OutboxCollector(Collector):
    """Unsent outbox rows and the age of the oldest, read from the database when scraped."""

    def __init__(self, service: str, database_url: str) -> None:
        self.service = service
        self.dsn = db.libpq_dsn(database_url)

    def collect(self):
        backlog = GaugeMetricFamily("shangji_outbox_backlog", "Outbox rows not yet published", labels=["service"])
        lag = GaugeMetricFamily("shangji_outbox_lag_seconds", "Age of the oldest unpublished outbox row (0: none)",
                                labels=["service"])
        try:
            with psycopg.connect(self.dsn, connect_timeout=3) as conn:
                count, age = conn.execute(OUTBOX_BACKLOG_SQL).fetchone()
        except psycopg.Error as exc:  # no figures is better than a failed scrape; say why in the log
            _log.warning("outbox metrics unavailable", extra=log.fields(error=repr(exc)))
            return
        backlog.add_metric([self.service], count)
        lag.add_metric([self.service], float(age or 0))
        yield from (backlog, lag)


_pool_collector: PoolCollector | None = None


def serve(*, service: str, outbox_database_url: str | None = None) -> int | None:
    """Start the /metrics endpoint when SHANGJI_METRICS_PORT is set; returns the port or None."""
    global _pool_collector
    listen = port()
    if listen is None:
        return None
    if _pool_collector is None:
        _pool_collector = PoolCollector()
        REGISTRY.register(_pool_collector)
    if outbox_database_url is not None:
        REGISTRY.register(OutboxCollector(service, outbox_database_url))
    start_http_server(listen, addr=env("SHANGJI_METRICS_HOST", "0.0.0.0"))
    _log.info("metrics served", extra=log.fields(port=listen))
    return listen
