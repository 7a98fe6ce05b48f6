"""Dead letters back in the queue with a fresh budget (operators through the API, or the CLI); the worker's
timer works them."""

from __future__ import annotations

from erp_bridge.domain.model import Job
from erp_bridge.service_layer.operators import require_operator
from erp_bridge.service_layer.unit_of_work import ErpBridgeUnitOfWork
from shangji_kit import names
from shangji_kit.clock import Clock, utc_now


def retry_dead_letters(job_ids: list[str] | None, uow: ErpBridgeUnitOfWork, clock: Clock = utc_now) -> list[Job]:
    """Dead letters (all, or those named) back to pending."""
    now = clock()
    with uow:
        jobs = uow.jobs.lock_dead_letters(job_ids)
        for job in jobs:
            job.retry(now)
            uow.jobs.save(job)
        uow.commit()
        return jobs


def order_ids(order_names: list[str]) -> list[str]:
    """Job ids of ``erpOrders/{id}`` names; INVALID_ARGUMENT ``names[i]`` for a malformed one."""
    return [names.parse(n, "erpOrders", f"names[{i}]") for i, n in enumerate(order_names)]


def retry_dead_letters_for(order_names: list[str], caller_id: str, uow: ErpBridgeUnitOfWork,
                           clock: Clock = utc_now) -> list[Job]:
    """The API's RetryDeadLetters: the named orders (all when none is named), for an operator."""
    with uow:
        require_operator(caller_id, uow)
    return retry_dead_letters(order_ids(order_names) or None, uow, clock)
