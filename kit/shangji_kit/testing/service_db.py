"""SQL on a service's test database, for tests that check what the code wrote (rows, counts, the outbox).

A connection per call, no pool: a test's reads never hold a connection the code under test needs.
"""

from __future__ import annotations

import sqlalchemy as sa

from shangji_kit import process_cache
from shangji_kit.settings import Settings


class ServiceDb:
    def __init__(self, service: str) -> None:
        self.service = service

    def engine(self) -> sa.Engine:
        return sa.create_engine(Settings.for_service(self.service).database_url, poolclass=sa.pool.NullPool)

    def scalar(self, sql: str, **params) -> object:
        eng = self.engine()
        try:
            with eng.connect() as conn:
                return conn.execute(sa.text(sql), params).scalar()
        finally:
            eng.dispose()

    def rows(self, sql: str, **params) -> list:
        eng = self.engine()
        try:
            with eng.connect() as conn:
                return conn.execute(sa.text(sql), params).all()
        finally:
            eng.dispose()

    def execute(self, sql: str, **params) -> None:
        """Write and commit; the caches of this process (``shangji_kit.process_cache``) have heard of it when this
        returns, so a call the test makes next reads what it wrote."""
        eng = self.engine()
        try:
            with eng.begin() as conn:
                conn.execute(sa.text(sql), params)
        finally:
            eng.dispose()
        process_cache.settle_all()

    def count(self, table: str, where: str = "true", **params) -> int:
        return self.scalar(f"SELECT count(*) FROM {table} WHERE {where}", **params)

    def outbox_types(self) -> list[str]:
        """The short type names of every event written, oldest first."""
        return [r[0].rsplit(".", 1)[-1] for r in self.rows("SELECT type FROM outbox ORDER BY position")]
