"""teams' organisation and transfers: the projection that decides who sees what, and the handover of a
leaver's leads and customers."""

from __future__ import annotations

from datetime import datetime

from leads.domain import customers, model, pool
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit.inbox import Delivery
from shangji_kit.visibility import OrgDepartment, OrgUser


def record_user(user: OrgUser, delivery: Delivery, uow: LeadsUnitOfWork,
                profile: pool.RepProfile | None = None) -> bool:
    """UserCreated/UserUpdated/UserDeactivated into the projection (and the rep's territories, expertise and
    capacity into ``reps`` when given); False for a redelivery.

    A state older than the one held is ignored (by update time), so reordered events leave it right.
    """
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_user(user)
        if profile is not None:
            uow.reps.apply_profile(profile)
        uow.commit()
        return True


def record_department(department: OrgDepartment, delivery: Delivery, uow: LeadsUnitOfWork) -> bool:
    """DepartmentChanged into the projection; False for a redelivery. Older states are ignored."""
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_department(department)
        uow.commit()
        return True


def hand_over(cmd: model.HandOver, delivery: Delivery, uow: LeadsUnitOfWork, now: datetime) -> list[str]:
    """Every OPEN lead of the previous owner goes to the successor, each move recorded in
    ``owner_changes``; converted leads keep their owner. Their customers go to the successor too. The lead
    ids moved ([] for a redelivery)."""
    with uow:
        if not uow.claim(delivery):
            return []
        moved = []
        if cmd.from_owner_id != cmd.to_owner_id:
            moved = uow.leads.hand_over_open(cmd.from_owner_id, cmd.to_owner_id, cmd.transfer_id,
                                             cmd.transfer_time or now, now)
            # The leaver's customers are live accounts: they follow too, each a CustomerUpdated.
            uow.publish([customers.CustomerUpdated(c, uow.customers.chain(c.id), ("owner",), "")
                         for c in uow.customers.hand_over(cmd.from_owner_id, cmd.to_owner_id, now)])
        uow.commit()
        return moved
