"""teams' organisation and transfers: the projection that decides who sees what, and the handover of a
leaver's leads and customers."""

from __future__ import annotations

from datetime import datetime

from leads.domain import customers, model, pool
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import org_projection
from shangji_kit.inbox import idempotent
from shangji_kit.visibility import OrgUser


@idempotent(skipped=False)
def record_user(uow: LeadsUnitOfWork, user: OrgUser, profile: pool.RepProfile | None = None) -> bool:
    """UserCreated/UserUpdated/UserDeactivated into the projection (and the rep's territories, expertise and
    capacity into ``reps`` when given); False for a redelivery. Called ``record_user(delivery, uow, ...)``.

    A state older than the one held is ignored (by update time), so reordered events leave it right.
    """
    uow.org.apply_user(user)
    if profile is not None:
        uow.reps.apply_profile(profile)
    return True


# DepartmentChanged into the projection: the kit's use case, as for every service with the projection.
record_department = org_projection.record_department


# A redelivery moves nothing: the empty list (never mutated by callers).
@idempotent(skipped=[])
def hand_over(uow: LeadsUnitOfWork, cmd: model.HandOver, now: datetime) -> list[str]:
    """Every OPEN lead of the previous owner goes to the successor, each move recorded in
    ``owner_changes``; converted leads keep their owner. Their customers go to the successor too. The lead
    ids moved ([] for a redelivery). Called ``hand_over(delivery, uow, cmd, now)``."""
    if cmd.from_owner_id == cmd.to_owner_id:
        return []
    moved = uow.leads.hand_over_open(cmd.from_owner_id, cmd.to_owner_id, cmd.transfer_id,
                                     cmd.transfer_time or now, now)
    # The leaver's customers are live accounts: they follow too, each a CustomerUpdated.
    uow.publish([customers.CustomerUpdated(c, uow.customers.chain(c.id), ("owner",), "")
                 for c in uow.customers.hand_over(cmd.from_owner_id, cmd.to_owner_id, now)])
    return moved
