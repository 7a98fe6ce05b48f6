"""Which statements PostgreSQL may plan once and keep (issue 12): generic plans, chosen per statement.

A statement sent unprepared is planned at every run with its parameters' values (a custom plan). The
visibility lists need that: a head's ``path LIKE :prefix`` is estimated from the prefix, and a generic plan,
which cannot see it, made a manager's page on 1M deals 13 ms instead of 5-7. A key lookup or a keyed write
has one plan whatever its values, and planning it again at every call was most of PostgreSQL's CPU for it.

So a statement marked ``generic(stmt)`` is prepared at its first run on a connection (psycopg's
``prepare=True``), and PostgreSQL, under ``plan_cache_mode = auto``, keeps a generic plan from its sixth run
when that plan costs no more than the custom ones did. Every other statement is sent unprepared: psycopg's
own preparing after a few runs is switched off (``CONNECT_ARGS``), so an unmarked statement never becomes a
prepared one and always gets a custom plan. An executemany is the exception: psycopg always prepares it
(our executemanys are keyed writes, where a generic plan is right).

Mark only statements whose best plan does not depend on their values: by a primary or unique key, an insert,
an update by id. Never a list filtered by a visibility subtree, a search, or a ``LIKE`` on a parameter.
"""

from __future__ import annotations

import sys
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from psycopg._preparing import PrepareManager

OPTION = "shangji_generic_plan"

# psycopg prepares a statement once it has run this many times on a connection: never, here (None would
# also refuse ``prepare=True``, which marked statements need).
CONNECT_ARGS: dict[str, Any] = {"options": "-c plan_cache_mode=auto", "prepare_threshold": sys.maxsize}

E = TypeVar("E", bound=sa.Executable)


def generic(stmt: E) -> E:
    """``stmt`` (a Core statement or ``text()``) marked as one whose plan may be kept for the connection.

    The mark is an execution option, so statements derived from ``stmt`` (``.where``, ``.values``,
    ``.returning``, a text's ``.bindparams``) keep it; a text's ``.columns()`` does not: mark its result."""
    return stmt.execution_options(**{OPTION: True})


def is_generic(stmt: sa.Executable) -> bool:
    return bool(stmt.get_execution_options().get(OPTION))


class KeepsPrepared(psycopg.Connection):
    """A psycopg connection that keeps its prepared statements across a rollback.

    psycopg forgets them all at every rollback (and sends DEALLOCATE ALL), in case the transaction created
    what they refer to. A unit of work that only reads ends in a rollback, so a read's marked statement would be
    prepared again at every call: a round trip more than not preparing it. A prepared statement outlives a
    rollback in PostgreSQL, and ours refer only to tables the migrations made; psycopg still forgets them
    after a DROP, and PostgreSQL plans a kept statement again when a table it reads changes.
    """

    def rollback(self) -> None:
        # The rollback's bookkeeping clears an empty manager, so nothing is deallocated.
        kept, self._prepared = self._prepared, PrepareManager()
        try:
            super().rollback()
        finally:
            self._prepared = kept


def _connect(dialect: Any, conn_rec: Any, cargs: tuple, cparams: dict) -> psycopg.Connection:
    return KeepsPrepared.connect(*cargs, **cparams)


def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
    if context is not None and context.execution_options.get(OPTION):
        cursor.execute(statement, parameters, prepare=True)
        return True
    return None  # SQLAlchemy's own cursor.execute: never prepared (CONNECT_ARGS)


def _execute_no_params(cursor: Any, statement: str, context: Any) -> bool | None:
    if context is not None and context.execution_options.get(OPTION):
        cursor.execute(statement, prepare=True)
        return True
    return None


def install(engine: sa.Engine) -> None:
    """Prepare ``engine``'s marked statements, and only them (its connections need ``CONNECT_ARGS``)."""
    sa.event.listen(engine, "do_connect", _connect)
    sa.event.listen(engine, "do_execute", _execute)
    sa.event.listen(engine, "do_execute_no_params", _execute_no_params)
