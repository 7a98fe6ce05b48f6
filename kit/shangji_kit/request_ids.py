"""Idempotent commands: a request id is remembered per caller and operation, with the resource it created.

One table per service database, ``idempotency_keys`` (caller, operation, request_id) -> resource_id,
created by the service's own migration with ``shangji_kit.migrate.create_request_ids_table``.

A create use case claims its key in the transaction that writes the resource::

    key = RequestKey.of(caller_id, "CreateSampleRequest", cmd.request_id)
    with uow:
        earlier = uow.request_ids.claim(key, new.id)
        if earlier is not None:
            return uow.things.get(earlier)          # a retry: the original, nothing written
        uow.things.add(new)
        uow.commit()

Race-safe: ``INSERT ... ON CONFLICT DO NOTHING`` on the primary key makes a concurrent duplicate wait
on the index entry until the first transaction ends; when that one committed the duplicate inserts
nothing and then reads the original's resource id (READ COMMITTED takes a new snapshot per
statement); when it rolled back the duplicate's insert goes through and it is the first. The key is
scoped to the caller, so another caller reusing a request id finds nothing of the first caller's and
gets its own result.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa

from shangji_kit import plans
from shangji_kit.errors import InvalidArgument
from shangji_kit.statements import insert_or_skip

TABLE = "idempotency_keys"
# A request id is a client's retry token (a UUID is 36 characters); the key is indexed.
MAX_LENGTH = 100


def request_ids_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        TABLE, metadata,
        # The key in this order: (operation, request_id) leads, so "used by another caller" is an index scan too.
        sa.Column("operation", sa.Text, primary_key=True),
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("caller", sa.Text, primary_key=True),
        sa.Column("resource_id", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )


@dataclass(frozen=True)
class RequestKey:
    """A command's request id as its caller used it for one operation (e.g. "CreateSampleRequest")."""

    caller: str
    operation: str
    request_id: str

    @classmethod
    def of(cls, caller: str, operation: str, request_id: str, field: str = "request_id") -> RequestKey | None:
        """None for an empty request id: the call is not idempotent. INVALID_ARGUMENT on ``field`` for one longer
        than ``MAX_LENGTH`` (the key is indexed: a long one failed in the database)."""
        if len(request_id) > MAX_LENGTH:
            raise InvalidArgument.field(field, f"at most {MAX_LENGTH} characters (a UUID is fine)")
        return cls(caller, operation, request_id) if request_id else None


class RequestIds(Protocol):
    """The request ids a service has seen, in the unit of work's transaction."""

    def find(self, key: RequestKey | None) -> str | None:
        """The resource id a committed earlier call with ``key`` created, else None."""

    def claim(self, key: RequestKey | None, resource_id: str) -> str | None:
        """Record ``key`` -> ``resource_id`` with this transaction. None when this call is the first (or
        ``key`` is None); else the original's resource id (write nothing then)."""

    def used_by_another(self, key: RequestKey | None) -> bool:
        """Whether another caller used this request id for this operation: for a service whose documented rule
        is ALREADY_EXISTS then (saying nothing of what that caller made) rather than a record of the caller's own."""


@functools.cache
def _statements(table: sa.Table) -> tuple[sa.TextClause, sa.Select, sa.Select]:
    """(insert, select, another caller's) for ``table``, built once per process: a unit of work is made per
    call, and building them each time was CPU on every call's hot path (0.3 ms, measured in leads)."""
    insert = insert_or_skip(table, ["caller", "operation", "request_id", "resource_id", "create_time"],
                            returning="resource_id")
    t = table.c
    select = sa.select(t.resource_id).where(t.caller == sa.bindparam("caller"),
                                            t.operation == sa.bindparam("operation"),
                                            t.request_id == sa.bindparam("request_id"))
    other = sa.select(sa.literal(True)).where(t.caller != sa.bindparam("caller"),
                                              t.operation == sa.bindparam("operation"),
                                              t.request_id == sa.bindparam("request_id")).limit(1)
    # Keyed reads: PostgreSQL may keep their plans (``plans``; the insert is marked by ``insert_or_skip``).
    return insert, plans.generic(select), plans.generic(other)


class SqlRequestIds:
    def __init__(self, session: sa.Connection, table: sa.Table) -> None:
        self.session = session
        self.table = table
        self._insert, self._select, self._other = _statements(table)

    def find(self, key: RequestKey | None) -> str | None:
        if key is None:
            return None
        return self.session.execute(self._select, _params(key)).scalar()

    def claim(self, key: RequestKey | None, resource_id: str) -> str | None:
        if key is None:
            return None
        params = {**_params(key), "resource_id": resource_id, "create_time": datetime.now(UTC)}
        # A second round only if the row that made the insert skip was gone when read (deleted since).
        for _ in range(2):
            if self.session.execute(self._insert, params).first() is not None:
                return None
            original = self.find(key)
            if original is not None:
                return original
        raise RuntimeError(f"request id {key} neither inserted nor found")


    def used_by_another(self, key: RequestKey | None) -> bool:
        if key is None:
            return False
        return self.session.execute(self._other, _params(key)).first() is not None


def _params(key: RequestKey) -> dict[str, str]:
    return {"caller": key.caller, "operation": key.operation, "request_id": key.request_id}
