"""Command line: ``python -m opportunities.entrypoints.cli load-pipeline FILE.yaml``, ``load-routing FILE.yaml`` and
``export opportunities|tasks``.

Loads a pipeline definition as a new pipeline, or as the next version of the pipeline with the same key (deals in
flight keep their version). A definition with any problem is refused, every problem listed, and nothing changes.

``export`` asks the front (ExportOpportunities, ExportTasks with ``--parent``, every deal's tasks by default) as
the token's user, so the file holds what that user's list shows, and writes it with a progress bar on stderr::

    python -m opportunities.entrypoints.cli export opportunities [--filter F] [--order-by O] [--format csv|xlsx]
        [-o FILE|DIR] [--target HOST:PORT] [--token JWT]
"""

from __future__ import annotations

import argparse
import sys

import yaml

from opportunities import bootstrap
from opportunities.service_layer import assignment, pipelines
from shangji.opportunities.v1 import opportunities_pb2, opportunities_pb2_grpc
from shangji_kit.errors import DomainError, InvalidArgument
from shangji_kit.rpc import export as export_rpc


def load_pipeline(path: str) -> int:
    try:
        with open(path, encoding="utf-8") as f:
            definition = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        pipeline = pipelines.load_pipeline(definition, bootstrap.uow_factory()())
    except InvalidArgument as exc:
        print(f"{path}: refused, nothing changed:", file=sys.stderr)
        for v in exc.violations:
            print(f"  {v.field}: {v.description}", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"{path}: refused, nothing changed: {exc.message}", file=sys.stderr)
        return 1
    print(f"loaded {pipeline.name} ({pipeline.key}) version {pipeline.version}: "
          f"{', '.join(s.key for s in pipeline.stages)}")
    return 0


def load_routing(path: str) -> int:
    """Replace the routing rules with the file's ordered list: ``- {region, product_line, amount_min, amount_max,
    owner: users/{id}}``; an empty list removes them all."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or []
        rules = assignment.routing_rules_from_list(data)
        assignment.replace_routing_rules(rules, bootstrap.uow_factory()())
    except (OSError, yaml.YAMLError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    except InvalidArgument as exc:
        print(f"{path}: refused, nothing changed:", file=sys.stderr)
        for v in exc.violations:
            print(f"  {v.field}: {v.description}", file=sys.stderr)
        return 1
    print(f"loaded {len(rules)} routing rules")
    return 0


def export_list(args: argparse.Namespace) -> int:
    fmt = export_rpc.FORMAT_NAMES[args.format]
    if args.list == "opportunities":
        request = opportunities_pb2.ExportOpportunitiesRequest(filter=args.filter, order_by=args.order_by, format=fmt)
        method = "ExportOpportunities"
    else:
        request = opportunities_pb2.ExportTasksRequest(parent=args.parent, filter=args.filter,
                                                       order_by=args.order_by, format=fmt)
        method = "ExportTasks"
    return export_rpc.run("opportunities", args,
                          lambda ch: getattr(opportunities_pb2_grpc.OpportunitiesServiceStub(ch), method), request)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opportunities.entrypoints.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load-pipeline", help="load a pipeline YAML as a new pipeline or a new version")
    load.add_argument("file")
    routing = commands.add_parser("load-routing", help="replace the routing rules with a YAML list")
    routing.add_argument("file")
    exp = commands.add_parser("export", help="export the deals or tasks you may see as CSV or XLSX")
    exp.add_argument("list", choices=("opportunities", "tasks"))
    exp.add_argument("--parent", default="opportunities/-",
                     help="tasks: opportunities/{id} for one deal's (default: every deal you may see)")
    export_rpc.add_arguments(exp, "opportunities")
    args = parser.parse_args(argv)
    if args.command == "export":
        return export_list(args)
    return load_pipeline(args.file) if args.command == "load-pipeline" else load_routing(args.file)


if __name__ == "__main__":
    sys.exit(main())
