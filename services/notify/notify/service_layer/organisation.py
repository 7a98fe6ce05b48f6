"""The organisation projection workflow: teams' user and department events kept in notify's copy
(who heads what, who holds which role, where to email), each event once."""

from __future__ import annotations

from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit.inbox import Delivery as EventDelivery
from shangji_kit.visibility import OrgDepartment, OrgUser


def apply_user(user: OrgUser, email: str, display_name: str, event: EventDelivery, uow: NotifyUnitOfWork) -> None:
    with uow:
        if uow.claim(event):
            uow.organisation.apply_user(user, email, display_name)
            uow.commit()


def apply_department(department: OrgDepartment, event: EventDelivery, uow: NotifyUnitOfWork) -> None:
    with uow:
        if uow.claim(event):
            uow.organisation.apply_department(department)
            uow.commit()
