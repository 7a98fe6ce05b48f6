"""The company's lead settings: read by anyone, changed by sales ops / admin (every bad field at once)."""

from __future__ import annotations

from leads.domain.settings import FIELDS, LeadSettings
from leads.service_layer.unit_of_work import LeadsUnitOfWork
from shangji_kit import caller, fieldmask
from shangji_kit.errors import Aborted, InvalidArgument, PermissionDenied


def get_settings(caller_id: str, uow: LeadsUnitOfWork) -> LeadSettings:
    caller.user_id(caller_id)
    with uow:
        return LeadSettings(*uow.pool_settings.get_all())


def update_settings(new: LeadSettings, update_mask: tuple[str, ...], etag: str, caller_id: str,
                    uow: LeadsUnitOfWork) -> LeadSettings:
    """Sales ops / admin change the settings in the mask, all checked at once. A change that scores
    differently makes every open lead stale; the worker rescores them in batches (``rescore_stale``).
    Whoever else asks learns nothing of what the settings accept: the caller is checked first."""
    caller_id = caller.user_id(caller_id)
    with uow:
        if not uow.org.viewer(caller_id).sees_everything:
            raise PermissionDenied("only sales ops and admins may change the lead settings")
        mask = fieldmask.check(update_mask, FIELDS)
        current = LeadSettings(*uow.pool_settings.get_all(for_update=True))
        if etag and etag != current.etag:
            raise Aborted(f"the settings have changed (etag {current.etag}, not {etag}); re-read them",
                          metadata={"etag": current.etag})
        changed = current.updated(new, tuple(mask))
        violations = changed.violations()
        if violations:
            raise InvalidArgument(violations)
        version = uow.pool_settings.save(changed.pool, changed.scoring, current.version)
        uow.commit()
        return LeadSettings(changed.pool, changed.scoring, version)
