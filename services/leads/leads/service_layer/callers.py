"""Who is calling, and whether they may name someone else as an owner."""

from __future__ import annotations

import uuid

from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import names
from shangji_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Unauthenticated


def caller_user_id(caller_id: str) -> str:
    # Owner ids are stored as UUIDs; a token whose subject is not one cannot own or see a lead.
    try:
        return str(uuid.UUID(caller_id))
    except ValueError as exc:
        raise Unauthenticated("the token's subject is not a user id", reason="INVALID_SUBJECT") from exc


def check_new_owner(uow: LeadsUnitOfWork, caller_id: str, owner_id: str, field: str = "lead.owner") -> None:
    """Someone else as a lead's owner: a user teams has told us about and not deactivated, and the
    caller a manager above them or sales ops / admin."""
    owner = names.format("users", owner_id)
    active = uow.org.is_active(owner_id)
    if active is None:
        # teams' UserCreated may reach us a moment after the user exists; the client can retry.
        raise InvalidArgument.field(field, f"{owner} is not a user leads knows (yet)")
    if not active:
        raise FailedPrecondition(f"{owner} is deactivated and cannot own leads", reason="INACTIVE_USER",
                                 metadata={"user": owner})
    viewer = uow.org.viewer(caller_id)
    if not (viewer.sees_everything or uow.org.manages(viewer, owner_id)):
        raise PermissionDenied(f"only {owner} themself, a manager above them, or sales ops may give them a lead",
                               metadata={"user": owner})
