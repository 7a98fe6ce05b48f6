"""Open StreamNotifications calls, woken by PostgreSQL LISTEN/NOTIFY.

The front is plain grpcio with a thread pool, and a server stream holds one of its threads for as long
as the client stays connected. So the number of open streams per process is bounded
(SHANGJI_NOTIFY_MAX_STREAMS, below SHANGJI_GRPC_THREADS so unary calls always find a thread); one more
is refused with UNAVAILABLE (reason TOO_MANY_STREAMS) and the client retries later.

Waking: the unit of work runs ``pg_notify('notify_notices', <recipient id>)`` in the transaction that
stores a notice, which PostgreSQL delivers on commit only. One listener thread per process holds one
LISTEN connection and wakes the streams of that recipient; each stream then reads what is new from
the database. A stream also re-reads every ``poll_seconds`` (a lost LISTEN connection, reconnecting,
delays a notice by that much and never loses it); with no stream open the listener ends and holds no
connection. We chose LISTEN/NOTIFY over a short poll alone
because a poll per stream per second is a query per connected client per second, most finding nothing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import psycopg

from notify.adapters.unit_of_work import WAKE_CHANNEL
from shangji_kit import log
from shangji_kit.errors import Unavailable

_log = log.get(__name__)


class StreamHub:
    def __init__(self, database_url: str, max_streams: int, poll_seconds: float = 10.0) -> None:
        self.dsn = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.poll_seconds = poll_seconds
        self._slots = threading.BoundedSemaphore(max_streams)
        self._lock = threading.Lock()
        self._waiting: dict[str, set[threading.Event]] = {}
        self._listener: threading.Thread | None = None
        self.listening = threading.Event()

    @contextlib.contextmanager
    def open(self, user_id: str) -> Iterator[threading.Event]:
        """A slot for one stream of ``user_id`` and the event that wakes it; UNAVAILABLE when all are taken."""
        if not self._slots.acquire(blocking=False):
            raise Unavailable("too many open notification streams; retry later", reason="TOO_MANY_STREAMS")
        wake = threading.Event()
        try:
            with self._lock:
                self._waiting.setdefault(user_id, set()).add(wake)
            self._start_listener()
            yield wake
        finally:
            with self._lock:
                waiting = self._waiting.get(user_id, set())
                waiting.discard(wake)
                if not waiting:
                    self._waiting.pop(user_id, None)
            self._slots.release()

    def _start_listener(self) -> None:
        with self._lock:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(target=self._listen, name="notify-stream-listener", daemon=True)
                self._listener.start()

    def _wake(self, user_id: str) -> None:
        with self._lock:
            for event in self._waiting.get(user_id, ()):
                event.set()

    def _idle(self) -> bool:
        """No stream open: the listener ends (the next stream starts it again), holding no connection."""
        with self._lock:
            if self._waiting:
                return False
            self._listener = None
            return True

    def _listen(self) -> None:
        while not self._idle():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {WAKE_CHANNEL}")
                    self.listening.set()
                    while not self._idle():
                        for note in conn.notifies(timeout=2.0):
                            self._wake(note.payload)
                return
            except Exception:  # the streams keep polling; reconnect without a hot loop
                self.listening.clear()
                _log.exception("notification stream listener lost its connection; reconnecting")
                time.sleep(1.0)
