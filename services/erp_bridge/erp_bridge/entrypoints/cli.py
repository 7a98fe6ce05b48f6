"""Command line: ``python -m erp_bridge.entrypoints.cli reconcile`` and ``retry-dead-letters [erpOrders/ID ...]``.

``reconcile`` lists every order we asked for beside its state in the ERP and any mismatch; it exits 1 when
there is a mismatch (2 when the ERP cannot be reached), so a cron job can alert on it.
``retry-dead-letters`` puts dead-lettered orders back in the queue with a fresh retry budget; the worker's
timer works them.
"""

from __future__ import annotations

import argparse
import sys

from erp_bridge import bootstrap
from erp_bridge.domain.model import ErpRejected, ErpUnavailable
from erp_bridge.service_layer import dead_letters, reconciliation
from shangji_kit.errors import InvalidArgument


def reconcile() -> int:
    try:
        lines = reconciliation.reconcile(bootstrap.erp(), bootstrap.uow_factory()())
    except (ErpUnavailable, ErpRejected) as exc:
        print(f"cannot reach the ERP: {exc}", file=sys.stderr)
        return 2
    print(f"{'reference':<52} {'ours':<12} {'erp order':<10} {'erp state':<11} mismatch")
    for line in lines:
        erp_number = line.erp.number if line.erp else "-"
        erp_state = line.erp.state if line.erp else "missing"
        detail = line.mismatch.detail if line.mismatch else ""
        print(f"{line.job.reference:<52} {line.job.state:<12} {erp_number or '-':<10} {erp_state:<11} {detail}")
    mismatches = sum(1 for line in lines if line.mismatch)
    print(f"{len(lines)} orders, {mismatches} mismatches")
    return 1 if mismatches else 0


def retry_dead_letters(names: list[str]) -> int:
    try:
        ids = dead_letters.order_ids(names) or None
    except InvalidArgument as exc:
        print(exc.message, file=sys.stderr)
        return 2
    jobs = dead_letters.retry_dead_letters(ids, bootstrap.uow_factory()())
    for job in jobs:
        print(f"retrying {job.reference} (erpOrders/{job.id})")
    print(f"{len(jobs)} dead letters back in the queue")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m erp_bridge.entrypoints.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("reconcile", help="orders we asked for vs their state in the ERP; exit 1 on a mismatch")
    retry = sub.add_parser("retry-dead-letters", help="dead letters back in the queue with a fresh budget")
    retry.add_argument("names", nargs="*", help="erpOrders/{id} (default: every dead letter)")
    args = parser.parse_args(argv)
    if args.command == "reconcile":
        return reconcile()
    return retry_dead_letters(args.names)


if __name__ == "__main__":
    sys.exit(main())
