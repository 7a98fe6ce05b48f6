"""Whether a caller may name someone else as an owner (of a lead, a customer, an import)."""

from __future__ import annotations

from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import names
from shangji_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied


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
