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


def test_a_table_with_the_trigger_drops_the_value_on_any_committed_write_and_settle_waits_for_it(
        private_teams_settings):
    from shangji_kit import migrate

    url = private_teams_settings.database_url
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE knobs (k text PRIMARY KEY, v int NOT NULL)"))
        conn.execute(sa.text("INSERT INTO knobs VALUES ('claim_cap', 1)"))
        migrate.add_cache_invalidation(conn, "knobs", "knobs")
    cache = ProcessCache(url).start()
    assert cache.wait_listening()

    def load():
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT v FROM knobs")).scalar_one()

    try:
        assert cache.get("knobs", load) == 1
        with engine.connect() as conn:  # rolled back: nobody is told, the value stays
            conn.execute(sa.text("UPDATE knobs SET v = 2"))
            conn.rollback()
        cache.settle()
        assert cache.get("knobs", lambda: 99) == 1
        with engine.begin() as conn:  # a plain UPDATE, as an operator's psql would send it
            conn.execute(sa.text("UPDATE knobs SET v = 3"))
        cache.settle()  # no waiting loop: once settled, the commit has been heard
        assert cache.get("knobs", load) == 3
    finally:
        cache.stop()
        engine.dispose()
