"""The organisation projection workflow: teams' user events kept in the kit's projection plus each user's
email address and name (where notify sends mail), once per event."""

from __future__ import annotations

from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit.inbox import idempotent
from shangji_kit.visibility import OrgUser


@idempotent(skipped=False)
def record_user(uow: NotifyUnitOfWork, user: OrgUser, email: str, display_name: str) -> bool:
    """Called ``record_user(delivery, uow, user, email, display_name)``; False for a redelivery. An older
    state than the one held is ignored (by update time)."""
    uow.org.apply_user(user)
    uow.org.save_contact(user.user_id, email, display_name, user.update_time)
    return True
