"""Idempotent commands against real PostgreSQL: one record for concurrent retries, scoped to the caller."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from shangji_kit import migrate, settings
from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table
from shangji_kit.request_ids import RequestKey, request_ids_table
from shangji_kit.testing.fakes import FakeRequestIds
from shangji_kit.testing.wait import eventually
from shangji_kit.uow import UnitOfWork

metadata = sa.MetaData()
request_ids_table(metadata)
things = sa.Table("things", metadata, sa.Column("id", sa.Text, primary_key=True),
                  sa.Column("owner", sa.Text, nullable=False))
outbox_table(metadata)
inbox_table(metadata)

CALLS = 20


@pytest.fixture(scope="module")
def engine(shangji_env):
    name = f"{settings.database_name('kit')}_request_ids_{uuid.uuid4().hex[:8]}"
    migrate.ensure_database(name)
    engine = sa.create_engine(settings.with_database(settings.server_dsn(), name), pool_size=CALLS + 2,
                              max_overflow=0)
    with engine.begin() as conn:
        migrate.create_messaging_tables(conn)
        migrate.create_request_ids_table(conn)
        things.create(conn)
    yield engine
    engine.dispose()
    migrate.drop_database(name)


@pytest.fixture
def uow(engine):
    return lambda: UnitOfWork("kit", engine.connect, metadata)


def create_thing(uow, caller: str, request_id: str, hold: threading.Event | None = None,
                 fail: bool = False) -> str:
    """A create use case as services write it: claim the key with the new id, or return the original."""
    new_id = str(uuid.uuid4())
    with uow:
        earlier = uow.request_ids.claim(RequestKey.of(caller, "CreateThing", request_id), new_id)
        if earlier is not None:
            return earlier
        uow.session.execute(sa.insert(things).values(id=new_id, owner=caller))
        if hold is not None:
            hold.wait(60)
        if fail:
            raise RuntimeError("the first call failed after claiming")
        uow.commit()
    return new_id


def count(engine, owner: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(things).where(things.c.owner == owner)).scalar()


def waiting_on_locks(engine) -> int:
    """Sessions of this database whose request-id insert waits on a lock (another transaction's key)."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO \"idempotency_keys\"%'")).scalar()


def test_concurrent_retries_with_one_request_id_make_one_record_and_all_answer_with_it(engine, uow):
    caller, request_id = str(uuid.uuid4()), str(uuid.uuid4())
    hold = threading.Event()
    with ThreadPoolExecutor(CALLS) as pool:
        first = pool.submit(create_thing, uow(), caller, request_id, hold)
        eventually(lambda: _claimed_uncommitted(engine), timeout=30, what="the first claim")
        others = [pool.submit(create_thing, uow(), caller, request_id) for _ in range(CALLS - 1)]
        # Every duplicate is blocked on the first's index entry before the first commits.
        eventually(lambda: waiting_on_locks(engine) == CALLS - 1, timeout=60, what="duplicates blocked")
        hold.set()
        answers = [first.result(60)] + [f.result(60) for f in others]
    assert len(set(answers)) == 1
    assert count(engine, caller) == 1


def _claimed_uncommitted(engine) -> bool:
    """The first call has inserted its key and holds its transaction open."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "WHERE a.datname = current_database() AND a.state = 'idle in transaction' "
            "AND l.relation = 'idempotency_keys'::regclass AND l.mode = 'RowExclusiveLock'")).scalar() >= 1


def test_when_the_first_call_fails_a_waiting_retry_becomes_the_first(engine, uow):
    caller, request_id = str(uuid.uuid4()), str(uuid.uuid4())
    hold = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(create_thing, uow(), caller, request_id, hold, True)
        eventually(lambda: _claimed_uncommitted(engine), timeout=30, what="the first claim")
        retry = pool.submit(create_thing, uow(), caller, request_id)
        eventually(lambda: waiting_on_locks(engine) == 1, timeout=60, what="the retry blocked")
        hold.set()
        with pytest.raises(RuntimeError):
            first.result(60)
        created = retry.result(60)
    assert count(engine, caller) == 1
    assert create_thing(uow(), caller, request_id) == created


def test_another_caller_reusing_a_request_id_gets_its_own_record(engine, uow):
    request_id = str(uuid.uuid4())
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    a = create_thing(uow(), mine, request_id)
    b = create_thing(uow(), theirs, request_id)
    assert a != b
    assert count(engine, mine) == 1 and count(engine, theirs) == 1
    assert create_thing(uow(), theirs, request_id) == b
    with uow() as unit:
        assert unit.request_ids.used_by_another(RequestKey(mine, "CreateThing", request_id))
        assert not unit.request_ids.used_by_another(RequestKey(mine, "CreateThing", "never-used"))


def test_no_request_id_means_no_idempotency(engine, uow):
    caller = str(uuid.uuid4())
    assert create_thing(uow(), caller, "") != create_thing(uow(), caller, "")
    assert count(engine, caller) == 2


def test_the_fake_remembers_per_caller_and_forgets_what_was_rolled_back():
    ids = FakeRequestIds()
    key = RequestKey("u1", "CreateThing", "r1")
    ids.begin()
    assert ids.claim(key, "a") is None
    ids.rollback()
    assert ids.find(key) is None
    ids.begin()
    assert ids.claim(key, "b") is None
    ids.commit()
    assert ids.claim(key, "c") == "b"
    assert ids.used_by_another(RequestKey("u2", "CreateThing", "r1"))
    assert ids.claim(RequestKey("u2", "CreateThing", "r1"), "d") is None
    assert not ids.used_by_another(RequestKey("u1", "OtherThing", "r1"))


def test_the_statements_are_built_once_per_table():
    from shangji_kit.inbox import Inbox
    from shangji_kit.request_ids import SqlRequestIds

    table = metadata.tables["idempotency_keys"]
    assert SqlRequestIds(None, table)._insert is SqlRequestIds(None, table)._insert
    assert Inbox(metadata.tables["inbox"])._insert is Inbox(metadata.tables["inbox"])._insert


def test_a_request_id_longer_than_the_limit_is_invalid_argument_naming_it():
    from shangji_kit.errors import InvalidArgument
    from shangji_kit.request_ids import MAX_LENGTH

    assert RequestKey.of("u1", "CreateThing", "x" * MAX_LENGTH) is not None
    with pytest.raises(InvalidArgument) as exc:
        RequestKey.of("u1", "CreateThing", "x" * (MAX_LENGTH + 1))
    assert [v.field for v in exc.value.violations] == ["request_id"]
