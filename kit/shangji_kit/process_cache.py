"""Values read from a service's database and kept per process, dropped by an event when they change.

For data every call reads and almost nothing writes (a company's pool settings, scoring rules,
registration settings): reading it once per process instead of once per call saves a round trip and its
CPU on every call.

Invalidation is an event, not a timer: the use case that changes such a value calls ``invalidate(conn,
name)`` inside its own transaction, which sends ``NOTIFY shangji_cache, '<name>'``. PostgreSQL delivers a
notification only when that transaction commits (never for a rollback), to every process listening on the
database: each ``ProcessCache`` keeps one LISTEN connection (a thread) and drops the name it hears. So a
change is seen by every front and worker copy within the notification's delivery (milliseconds), and
never before it is committed.

Safety rules:
- a value is cached only while the listener is connected; while it is not (start-up, a lost connection)
  every ``get`` reads the database, and on (re)connect everything cached is dropped, since notifications
  sent in between were lost;
- a read that overlaps an invalidation is not kept (a generation number per name), so a value loaded just
  before a commit cannot outlive the notification of that commit.

Immutable data needs none of this: a pipeline version never changes once written, so it is cached by
(pipeline, version) for the life of the process (opportunities' PipelineRepository).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa

from shangji_kit import log
from shangji_kit.db import libpq_dsn

_log = log.get(__name__)

CHANNEL = "shangji_cache"
T = TypeVar("T")


def invalidate(conn: sa.Connection, name: str) -> None:
    """Inside the writer's transaction: every process drops ``name`` once the transaction commits."""
    conn.execute(sa.text("SELECT pg_notify(:channel, :name)"), {"channel": CHANNEL, "name": name})


class ProcessCache:
    """``cache.get("pool_settings", load)``: ``load()`` runs on a miss; the value is kept until invalidated."""

    def __init__(self, database_url: str, *, reconnect_seconds: float = 1.0) -> None:
        self.dsn = libpq_dsn(database_url)
        self.reconnect_seconds = reconnect_seconds
        self._values: dict[str, Any] = {}
        self._generation: dict[str, int] = {}
        self._epoch = 0  # moves when everything is dropped
        self._listening = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ProcessCache:
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, daemon=True, name="process-cache-listener")
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def wait_listening(self, timeout: float = 10.0) -> bool:
        return self._listening.wait(timeout)

    def get(self, name: str, load: Callable[[], T]) -> T:
        self.start()
        with self._lock:
            if name in self._values:
                return self._values[name]
            seen = (self._epoch, self._generation.get(name, 0))
        value = load()
        with self._lock:
            if self._listening.is_set() and (self._epoch, self._generation.get(name, 0)) == seen:
                self._values[name] = value
        return value

    def drop(self, name: str | None = None) -> None:
        """Forget ``name`` (every name when None)."""
        with self._lock:
            if name is None:
                self._values.clear()
                self._epoch += 1
                return
            self._values.pop(name, None)
            self._generation[name] = self._generation.get(name, 0) + 1

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.drop()  # anything kept before this connection may have missed its notification
                    self._listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.drop(note.payload)
            except Exception as exc:  # database gone: stop caching until we listen again
                self._listening.clear()
                self.drop()
                _log.warning("cache listener lost its connection; not caching until it is back",
                             extra=log.fields(error=repr(exc)))
                time.sleep(self.reconnect_seconds)
        self._listening.clear()
