"""Values read from a service's database and kept per process, dropped by an event when they change.

For data every call reads and almost nothing writes (a company's pool settings, scoring rules,
registration settings): reading it once per process instead of once per call saves a round trip and its
CPU on every call.

Invalidation is an event, not a timer: a statement trigger on the table the value is read from
(``migrate.add_cache_invalidation``) sends ``NOTIFY shangji_cache, '<name>'`` on every change, whoever makes
it (a use case, an operator's psql, a test); ``invalidate(conn, name)`` does the same from code. PostgreSQL
delivers a notification only when that transaction commits (never for a rollback), to every process
listening on the database: each ``ProcessCache`` keeps one LISTEN connection (a thread) and drops the name it
hears. So a change is seen by every front and worker copy within the notification's delivery (milliseconds
after the commit: a call that another process serves in that window still reads the old value), and never
before it is committed. ``settle()`` waits until every change committed before it was called has been
heard (tests that write the table directly and then call the service in this process).

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
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa

from shangji_kit import log
from shangji_kit.db import libpq_dsn

_log = log.get(__name__)

CHANNEL = "shangji_cache"
_SETTLE = "__settle__:"
T = TypeVar("T")

_by_database: dict[str, ProcessCache] = {}
_registry_lock = threading.Lock()


def for_database(database_url: str) -> ProcessCache:
    """This process's one cache of ``database_url`` (one listener per database, however many units of work)."""
    with _registry_lock:
        cache = _by_database.get(database_url)
        if cache is None:
            cache = _by_database[database_url] = ProcessCache(database_url)
        return cache


def settle_all(timeout: float = 5.0) -> None:
    """``settle()`` every cache of this process."""
    with _registry_lock:
        caches = list(_by_database.values())
    for cache in caches:
        cache.settle(timeout)


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
        self._settled: dict[str, threading.Event] = {}

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

    def settle(self, timeout: float = 5.0) -> None:
        """Return once the listener has heard every notification committed before this call. PostgreSQL
        delivers a listener's notifications in commit order, so hearing a marker sent now means the earlier
        ones were heard. Nothing to wait for while not listening: nothing is kept then."""
        with self._lock:
            if not self.listening or not self._values:
                return  # nothing kept, nothing stale
        token = uuid.uuid4().hex
        heard = self._settled[token] = threading.Event()
        try:
            with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, _SETTLE + token))
            if not heard.wait(timeout):
                # The listener lost its connection meanwhile: it drops everything when it is back.
                self.drop()
        finally:
            self._settled.pop(token, None)

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
                            if note.payload.startswith(_SETTLE):
                                if (heard := self._settled.get(note.payload[len(_SETTLE):])) is not None:
                                    heard.set()
                            else:
                                self.drop(note.payload)
            except Exception as exc:  # database gone: stop caching until we listen again
                self._listening.clear()
                self.drop()
                _log.warning("cache listener lost its connection; not caching until it is back",
                             extra=log.fields(error=repr(exc)))
                time.sleep(self.reconnect_seconds)
        self._listening.clear()
