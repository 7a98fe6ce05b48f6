"""The kit's request ids (per caller) with leads' rule for another caller's: the id is taken, say nothing more."""

from __future__ import annotations

import sqlalchemy as sa

from leads.adapters.orm import idempotency_keys
from shangji_kit.request_ids import RequestKey, SqlRequestIds

_OTHER = (sa.select(sa.literal(True)).where(
    idempotency_keys.c.operation == sa.bindparam("operation"),
    idempotency_keys.c.request_id == sa.bindparam("request_id"),
    idempotency_keys.c.caller != sa.bindparam("caller")).limit(1))


# The kit's statements, built once for the process rather than per unit of work (building them was CPU on
# every call's hot path).
_KIT = SqlRequestIds(None, idempotency_keys)


class RequestIdRepository(SqlRequestIds):
    def __init__(self, session: sa.Connection) -> None:
        self.session = session
        self.table = idempotency_keys
        self._insert = _KIT._insert
        self._select = _KIT._select

    def used_by_another(self, key: RequestKey | None) -> bool:
        """Whether another caller has used this request id for this operation."""
        if key is None:
            return False
        params = {"operation": key.operation, "request_id": key.request_id, "caller": key.caller}
        return self.session.execute(_OTHER, params).first() is not None
