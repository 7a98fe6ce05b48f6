"""One lead taken for a change: who may change it (its holder; or also a manager above them and sales ops),
and saving it with its events."""

from __future__ import annotations

from leads.domain import model
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit.errors import NotFound, PermissionDenied


def changeable(uow: LeadsUnitOfWork, lead_id: str, caller_id: str) -> model.Lead:
    """The lead, locked, when the caller may change its details: the holder, a manager above them, or sales
    ops / admin (who also keep the pool's leads). NOT_FOUND when they may not see it."""
    viewer = uow.org.viewer(caller_id)
    lead = uow.leads.get_visible(lead_id, viewer, for_update=True)
    if lead is None:
        raise NotFound(f"leads/{lead_id}")
    if not (viewer.sees_everything or lead.owner_id == viewer.user_id
            or (lead.owner_id is not None and uow.org.manages(viewer, lead.owner_id))):
        raise PermissionDenied(f"only the holder of {lead.name}, a manager above them or sales ops may change it",
                               metadata={"resource": lead.name})
    return lead


def held_by_caller(uow: LeadsUnitOfWork, lead_id: str, caller_id: str, doing: str) -> model.Lead:
    """The lead, locked, when the caller holds it (returning it, following it up)."""
    lead = uow.leads.get_visible(lead_id, uow.org.viewer(caller_id), for_update=True)
    if lead is None:
        raise NotFound(f"leads/{lead_id}")
    if lead.owner_id != caller_id:
        raise PermissionDenied(f"only the holder of {lead.name} may {doing}", metadata={"resource": lead.name})
    return lead


def save(uow: LeadsUnitOfWork, lead: model.Lead, read_version: int) -> None:
    """Write the lead if nobody did since it was read at ``read_version`` (ABORTED otherwise), with its events."""
    uow.leads.update(lead, read_version)
    uow.publish(lead.events)
