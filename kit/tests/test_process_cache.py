"""Per-process caches dropped by an event: a committed change reaches every process, a rollback none."""

import threading

import pytest
import sqlalchemy as sa

from shangji_kit.process_cache import ProcessCache, invalidate
from shangji_kit.settings import Settings
from shangji_kit.testing.wait import eventually


@pytest.fixture
def url(shangji_env) -> str:
    return Settings.for_service("teams").database_url


@pytest.fixture
def caches(url):
    made = [ProcessCache(url).start(), ProcessCache(url).start()]  # as two front processes would hold them
    for c in made:
        assert c.wait_listening()
    yield made
    for c in made:
        c.stop()


def test_a_committed_change_drops_the_value_in_every_process_and_a_rollback_in_none(url, caches):
    version = {"n": 1}
    loads = []

    def load():
        loads.append(version["n"])
        return version["n"]

    assert [c.get("pool_settings", load) for c in caches] == [1, 1]
    assert [c.get("pool_settings", load) for c in caches] == [1, 1]
    assert loads == [1, 1]  # read once per process, then kept

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        version["n"] = 2  # written, not committed: the others keep the committed value
        invalidate(conn, "pool_settings")
        conn.rollback()
    threading.Event().wait(0.5)
    assert [c.get("pool_settings", load) for c in caches] == [1, 1]

    with engine.connect() as conn:
        invalidate(conn, "pool_settings")
        invalidate(conn, "something_else")
        conn.commit()
    engine.dispose()
    eventually(lambda: [c.get("pool_settings", load) for c in caches] == [2, 2], what="both processes reloaded")


def test_nothing_is_kept_while_not_listening(url):
    cache = ProcessCache("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", reconnect_seconds=0.05)
    calls = []
    assert cache.get("x", lambda: calls.append(1) or 1) == 1
    assert cache.get("x", lambda: calls.append(1) or 1) == 1
    cache.stop()
    assert calls == [1, 1]
