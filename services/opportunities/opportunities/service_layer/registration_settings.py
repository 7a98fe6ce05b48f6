"""The company's registration settings (报备): read by every active user, changed by sales ops and admins.

They are not cached in the process: each registration (and each collision re-check of an edit) reads the one row
in its own transaction, so a change is in force from the next registration in every front and worker process, and
never before it commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from opportunities.domain import registration_settings
from opportunities.domain.registration import RegistrationSettings
from opportunities.service_layer.deals import Clock, utc_now
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import caller, fieldmask
from shangji_kit.errors import Aborted, PermissionDenied


@dataclass(frozen=True)
class UpdateRegistrationSettings:
    update_mask: tuple[str, ...]
    protection_days: int = 0
    collision_mode: str = ""
    # Decimal text; "" clears it (no big-deal alerts).
    big_deal_threshold: str = ""
    etag: str = ""


def get_registration_settings(caller_id: str, uow: OpportunitiesUnitOfWork) -> RegistrationSettings:
    """The settings in force; PERMISSION_DENIED for a user teams says has left."""
    user_id = caller.user_id(caller_id)
    with uow:
        if uow.org.viewer(user_id).deactivated:
            raise PermissionDenied("a deactivated user reads no settings", reason="USER_DEACTIVATED")
        return uow.registration.settings()


def update_registration_settings(cmd: UpdateRegistrationSettings, caller_id: str, uow: OpportunitiesUnitOfWork,
                                 *, clock: Clock = utc_now) -> RegistrationSettings:
    """Sales ops and admins change the fields in the mask, every bad one reported at once; the caller is checked
    first, so anyone else learns nothing of what the settings accept. ABORTED when ``etag`` is stale or another
    change commits between read and write."""
    user_id = caller.user_id(caller_id)
    now = clock()
    with uow:
        if not uow.org.viewer(user_id).sees_everything:
            raise PermissionDenied("only sales ops and admins change the registration settings",
                                   reason="NOT_SALES_OPS")
        mask = fieldmask.check(cmd.update_mask, registration_settings.FIELDS)
        current = uow.registration.settings()
        if cmd.etag and cmd.etag != current.etag:
            raise Aborted(f"the registration settings changed since they were read (etag {current.etag}); re-read "
                          f"them", metadata={"etag": current.etag})
        changed = registration_settings.changed(
            current, mask, protection_days=cmd.protection_days, collision_mode=cmd.collision_mode,
            big_deal_threshold=cmd.big_deal_threshold, by=user_id, now=now)
        if not uow.registration.save_settings(changed, current.version):
            raise Aborted("the registration settings changed concurrently; re-read them", reason="CONCURRENT_UPDATE")
        uow.commit()
        return changed
