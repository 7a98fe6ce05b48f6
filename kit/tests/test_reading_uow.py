"""A unit of work that only reads (``uow.reading()``) against real PostgreSQL: no transaction around its
statements, no way to write through it (nor through a fake), and the pooled connection is transactional again for
the next one."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from shangji_kit.inbox import Delivery, inbox_table
from shangji_kit.outbox import outbox_table
from shangji_kit.testing.fakes import FakeUnitOfWork
from shangji_kit.uow import UnitOfWork

metadata = sa.MetaData()
things = sa.Table("things", metadata, sa.Column("id", sa.Text, primary_key=True))
outbox_table(metadata)
inbox_table(metadata)


@pytest.fixture
def engine(private_teams_settings):
    """One connection (every unit of work below gets the same one back from the pool) to a database of this test's
    own, which has the kit's outbox and inbox tables."""
    engine = sa.create_engine(private_teams_settings.database_url, pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        things.create(conn)
    yield engine
    engine.dispose()


def status(uow: UnitOfWork) -> TransactionStatus:
    return uow.session.connection.dbapi_connection.info.transaction_status


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(things)).scalar_one()


def test_a_reading_unit_of_work_opens_no_transaction(engine):
    uow = UnitOfWork("kit", engine.connect, metadata)
    with uow.reading():
        assert uow.session.execute(sa.select(sa.func.count()).select_from(things)).scalar_one() == 0
        assert status(uow) == TransactionStatus.IDLE  # no BEGIN was sent, so no ROLLBACK will be
    with uow:  # the same object, used again for a use case that writes: a transaction as always
        uow.session.execute(sa.select(sa.func.count()).select_from(things))
        assert status(uow) == TransactionStatus.INTRANS


def test_a_reading_unit_of_work_refuses_to_write(engine):
    uow = UnitOfWork("kit", engine.connect, metadata)
    with uow.reading():
        with pytest.raises(RuntimeError, match="only reads"):
            uow.add(object())
        with pytest.raises(RuntimeError, match="only reads"):
            uow.commit()
        with pytest.raises(RuntimeError, match="only reads"):
            uow.claim_event("kit.test", str(uuid.uuid4()), "t")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one() == 0


def test_the_connection_goes_back_to_the_pool_transactional(engine):
    with UnitOfWork("kit", engine.connect, metadata).reading():
        pass
    # The pool's only connection, just used in autocommit: a write left uncommitted must still roll back.
    uow = UnitOfWork("kit", engine.connect, metadata)
    with uow:
        uow.session.execute(sa.insert(things).values(id=str(uuid.uuid4())))
        assert status(uow) == TransactionStatus.INTRANS
    assert count(engine) == 0
    with uow:
        uow.session.execute(sa.insert(things).values(id=str(uuid.uuid4())))
        uow.commit()
    assert count(engine) == 1


def test_a_fake_unit_of_work_refuses_to_write_when_reading():
    """The rule holds in every service's unit tests too: a read use case that wrote would fail there first."""
    uow = FakeUnitOfWork()
    with uow.reading():
        for write in (lambda: uow.add(object()), uow.commit,
                      lambda: uow.claim(Delivery("kit.test", str(uuid.uuid4()), "t"))):
            with pytest.raises(RuntimeError, match="only reads"):
                write()
    with uow:
        uow.add("an event")
        uow.commit()
    assert uow.events == ["an event"] and uow.committed == 1
