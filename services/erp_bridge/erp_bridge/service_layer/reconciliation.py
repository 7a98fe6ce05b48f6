"""Every order we asked for beside its state in the ERP, with any mismatch (the CLI's ``reconcile``)."""

from __future__ import annotations

from dataclasses import dataclass

from erp_bridge.domain import model
from erp_bridge.domain.model import ErpOrder, Job, Mismatch
from erp_bridge.domain.ports import ErpPort
from erp_bridge.service_layer.unit_of_work import ErpBridgeUnitOfWork


@dataclass(frozen=True)
class ReconcileLine:
    job: Job
    erp: ErpOrder | None
    mismatch: Mismatch | None


def reconcile(erp: ErpPort, uow: ErpBridgeUnitOfWork) -> list[ReconcileLine]:
    with uow:
        jobs = uow.jobs.all()
    lines = []
    for job in jobs:
        order = erp.find_order(job.reference)
        lines.append(ReconcileLine(job, order, model.reconcile(job, order)))
    return lines
