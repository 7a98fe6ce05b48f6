"""Command line: ``python -m samples.entrypoints.cli load-tiers FILE.yaml``, ``show-tiers`` and ``export``.

The YAML replaces the approval tiers in force (requests in flight keep the steps they were given)::

    currency: CNY
    tiers:
      - {name: sales_manager, max_total_quantity: 10, max_estimated_cost: "5000", approver_role: department_head}
      - {name: sales_director, max_total_quantity: 100, max_estimated_cost: "50000", approver_role: department_head}
      - {name: vp, approver_role: department_head}      # no limits: the last tier covers everything

A file with any problem is refused, every problem listed, and nothing changes.

``export`` asks the front (ExportSampleRequests) as the token's user, so the file holds what that user's list
shows (one row per line of a request), and writes it with a progress bar on stderr::

    python -m samples.entrypoints.cli export [--opportunity opportunities/{id}] [--filter F] [--order-by O]
        [--format csv|xlsx] [-o FILE|DIR] [--target HOST:PORT] [--token JWT]
"""

from __future__ import annotations

import argparse
import sys

import yaml

from samples import bootstrap
from samples.domain import approval
from samples.service_layer import catalogue
from shangji.samples.v1 import samples_pb2, samples_pb2_grpc
from shangji_kit.errors import FieldViolation, InvalidArgument
from shangji_kit.rpc import export as export_rpc


def tiers_from_yaml(data: object) -> tuple[list[approval.TierInput], str]:
    if not isinstance(data, dict) or not isinstance(data.get("tiers"), list):
        raise InvalidArgument.field("tiers", "the file must be a mapping with a list under 'tiers'")
    tiers: list[approval.TierInput] = []
    violations: list[FieldViolation] = []
    for i, t in enumerate(data["tiers"]):
        if not isinstance(t, dict):
            violations.append(FieldViolation(f"tiers[{i}]", "must be a mapping"))
            continue
        quantity = t.get("max_total_quantity")
        if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)):
            violations.append(FieldViolation(f"tiers[{i}].max_total_quantity", "must be a whole number or absent"))
            quantity = None
        cost = t.get("max_estimated_cost")
        tiers.append(approval.TierInput(name=str(t.get("name") or ""), max_total_quantity=quantity,
                                        max_estimated_cost="" if cost is None else str(cost),
                                        approver_role=str(t.get("approver_role") or "")))
    if violations:
        raise InvalidArgument(violations)
    return tiers, str(data.get("currency") or "")


def load_tiers(path: str) -> int:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        tiers, currency = tiers_from_yaml(data)
        policy, _ = catalogue.replace_policy(tiers, currency, bootstrap.uow_factory()())
    except InvalidArgument as exc:
        print(f"{path}: refused, nothing changed:", file=sys.stderr)
        for v in exc.violations:
            print(f"  {v.field.removeprefix('policy.')}: {v.description}", file=sys.stderr)
        return 1
    print(f"loaded {len(policy.tiers)} approval tiers: {', '.join(t.name for t in policy.tiers)}")
    return 0


def show_tiers() -> int:
    policy, update_time = catalogue.get_policy(bootstrap.uow_factory()())
    print(f"currency: {policy.currency}  # since {update_time.isoformat()}")
    print("tiers:")
    for t in policy.tiers:
        limits = {"max_total_quantity": t.max_total_quantity,
                  "max_estimated_cost": None if t.max_estimated_cost is None else str(t.max_estimated_cost)}
        shown = ", ".join(f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, v in limits.items()
                          if v is not None)
        print(f"  - {{name: {t.name}, {shown + ', ' if shown else ''}approver_role: {t.approver_role}}}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m samples.entrypoints.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load-tiers", help="replace the approval tiers with a YAML file")
    load.add_argument("file")
    commands.add_parser("show-tiers", help="print the approval tiers in force as YAML")
    exp = commands.add_parser("export", help="export the sample requests you may see as CSV or XLSX")
    exp.add_argument("--opportunity", default="", help="opportunities/{id}: only that deal's requests")
    export_rpc.add_arguments(exp, "samples")
    args = parser.parse_args(argv)
    if args.command == "export":
        request = samples_pb2.ExportSampleRequestsRequest(opportunity=args.opportunity, filter=args.filter,
                                                          order_by=args.order_by,
                                                          format=export_rpc.FORMAT_NAMES[args.format])
        return export_rpc.run("samples", args, lambda ch: samples_pb2_grpc.SamplesServiceStub(ch).ExportSampleRequests,
                              request)
    return load_tiers(args.file) if args.command == "load-tiers" else show_tiers()


if __name__ == "__main__":
    sys.exit(main())
