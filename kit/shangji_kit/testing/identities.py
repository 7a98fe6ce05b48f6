"""Test callers as known users: what teams' events would have put in each service's projection.

Every front lets in only a known, active user (``shangji_kit.auth``). A test that invents a caller
(``token_for(str(uuid.uuid4()))``) gets that user written to the organisation projection of every
service database that keeps one, active, in no department, with no roles, and stamped at the epoch,
so any real teams event about the same user replaces the row. Teams' own ``users`` table is never
touched: a teams test makes its users through the API.
"""

from __future__ import annotations

import functools
import uuid

import sqlalchemy as sa

from shangji_kit import db, settings
from shangji_kit.auth import as_user_id

_INSERT = sa.text("INSERT INTO org_users (user_id, department_id, roles, active, update_time) "
                  "VALUES (:id, NULL, '{}', true, 'epoch') ON CONFLICT (user_id) DO NOTHING")


@functools.cache
def _has_projection(url: str) -> bool:
    with db.engine(url).connect() as conn:
        return conn.execute(sa.text("SELECT to_regclass('org_users') IS NOT NULL")).scalar_one()


def provision(user_id: str) -> None:
    """Make ``user_id`` a known, active user wherever a projection is kept (a no-op for a non-UUID)."""
    canonical = as_user_id(user_id)
    if canonical is None:
        return
    for service in settings.SERVICES:
        url = settings.database_url(service)
        if service == "teams" or not _has_projection(url):
            continue
        with db.engine(url).begin() as conn:
            conn.execute(_INSERT, {"id": canonical})


def known_user_token(user_id: str | None = None, roles: tuple[str, ...] = ()) -> tuple[str, str]:
    """``(user_id, token)`` for a user every projection knows (a new one by default): for benchmarks
    and scripts that call the fronts as someone teams never created."""
    from shangji_kit.auth import mint_dev_token

    user_id = user_id or str(uuid.uuid4())
    provision(user_id)
    return user_id, mint_dev_token(user_id, roles=roles)
