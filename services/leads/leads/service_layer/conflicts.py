"""What an answer may say about a conflicting record the caller may not see: that it exists, and whom to
ask about it, never its id (README, "Conflicts with records you may not see")."""

from __future__ import annotations

from leads.domain import model
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import names
from shangji_kit.visibility import Viewer

SALES_OPS = "sales ops"


def who_to_ask(uow: LeadsUnitOfWork, owner_id: str | None) -> str:
    """``users/{id}`` of the nearest active head at or above the record owner's department; ``sales ops``
    when there is none (a pool lead, an owner outside every department)."""
    manager = uow.org.manager_of(owner_id) if owner_id else None
    return names.format("users", manager) if manager else SALES_OPS


def hide_unseen_originals(uow: LeadsUnitOfWork, caller_id: str, leads: list[model.Lead],
                          viewer: Viewer | None = None) -> None:
    """Blank ``duplicate_of`` on leads about to be answered (never stored) whose original the caller may not
    see. Costs a query only when some lead is a flagged duplicate."""
    originals = {lead.duplicate_of for lead in leads if lead.duplicate_of}
    if not originals:
        return
    seen = uow.leads.visible_ids(sorted(originals), viewer or uow.org.viewer(caller_id))
    for lead in leads:
        if lead.duplicate_of and lead.duplicate_of not in seen:
            lead.duplicate_of = None
