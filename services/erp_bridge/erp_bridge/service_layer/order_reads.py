"""Operators read the orders the bridge asked of the ERP."""

from __future__ import annotations

from erp_bridge.domain import model
from erp_bridge.domain.model import Job
from erp_bridge.service_layer.operators import require_operator
from erp_bridge.service_layer.unit_of_work import ErpBridgeUnitOfWork
from shangji_kit import names, paging
from shangji_kit.errors import InvalidArgument, NotFound

STATES = (model.PENDING, model.CONFIRMED, model.DEAD_LETTER)


def get_order(name: str, caller_id: str, uow: ErpBridgeUnitOfWork) -> Job:
    with uow:
        require_operator(caller_id, uow)
        job_id = names.parse(name, "erpOrders")
        job = uow.jobs.get(job_id)
    if job is None:
        raise NotFound(f"erpOrders/{job_id}")
    return job


def list_orders(page_size: int, page_token: str, state: str | None, caller_id: str,
                uow: ErpBridgeUnitOfWork) -> paging.Page:
    """``state``: one of ``STATES`` or None for every state; anything else is INVALID_ARGUMENT ``state``."""
    with uow:
        require_operator(caller_id, uow)
        if state is not None and state not in STATES:
            raise InvalidArgument.field("state", f"unknown state {state}")
        size = paging.page_size(page_size)
        jobs = uow.jobs.page(size + 1, paging.decode_token(page_token), state)
    return paging.keyset_page(jobs, size)
