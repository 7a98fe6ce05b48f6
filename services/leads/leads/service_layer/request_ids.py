"""A create's request id, the one way: the caller's own again is a retry (the first result, nothing written);
another caller's is refused and tells nothing of what it made (ALREADY_EXISTS); else this call is the first."""

from __future__ import annotations

from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit.errors import AlreadyExists, FieldViolation
from shangji_kit.request_ids import MAX_LENGTH, RequestKey


def check(request_id: str) -> list[FieldViolation]:
    """What is wrong with a request id, for a command reporting every bad field at once."""
    if len(request_id) > MAX_LENGTH:
        return [FieldViolation("request_id", f"at most {MAX_LENGTH} characters")]
    return []


def claim(uow: LeadsUnitOfWork, caller_id: str, operation: str, request_id: str, resource_id: str) -> str | None:
    """Record ``request_id`` as the caller's for ``resource_id`` in this transaction; the resource id of the
    caller's earlier call with it, if any. A concurrent twin waits here until the first commits."""
    key = RequestKey.of(caller_id, operation, request_id)
    earlier = uow.request_ids.claim(key, resource_id)
    if earlier is None and uow.request_ids.used_by_another(key):
        raise AlreadyExists("request_id was used by another caller; choose a new one",
                            metadata={"request_id": request_id})
    return earlier
