"""Command line: ``python -m opportunities.entrypoints.cli load-pipeline FILE.yaml``, ``load-routing FILE.yaml``,
``registration-settings show|set``, ``import-opportunities FILE.csv|FILE.xlsx --owner users/{id}
[--all-or-nothing]`` and ``export opportunities|tasks``.

Imports register each row as RegisterOpportunity would and print the report (``shangji_kit.table_cli``).

Loads a pipeline definition as a new pipeline, or as the next version of the pipeline with the same key (deals in
flight keep their version). A definition with any problem is refused, every problem listed, and nothing changes.

``registration-settings`` reads or changes the company's registration settings through the API as the caller
(``--token``, default $SHANGJI_TOKEN, as ``python -m shangji_kit.admin token <user-id>`` prints it; ``--target``,
default 127.0.0.1:SHANGJI_OPPORTUNITIES_GRPC_PORT), so who may change them is the API's rule (sales ops and
admins), not whoever can reach the database:

    registration-settings show
    registration-settings set [--protection-days N] [--collision-mode refuse|queue] [--big-deal-threshold AMOUNT]
                              [--etag ETAG]

``--big-deal-threshold ""`` switches big-deal alerts off. Exit status 0 when done, 1 when the API refused.

``export`` asks the front (ExportOpportunities, ExportTasks with ``--parent``, every deal's tasks by default) as
the token's user, so the file holds what that user's list shows, and writes it with a progress bar on stderr::

    python -m opportunities.entrypoints.cli export opportunities [--filter F] [--order-by O] [--format csv|xlsx]
        [-o FILE|DIR] [--target HOST:PORT] [--token JWT]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import grpc
import yaml
from google.protobuf import field_mask_pb2

from opportunities import bootstrap
from opportunities.service_layer import assignment, deal_import, pipelines
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji.opportunities.v1 import opportunities_pb2_grpc
from shangji_kit import table_cli
from shangji_kit.errors import DomainError, InvalidArgument
from shangji_kit.rpc import export as export_rpc
from shangji_kit.rpc.client import Caller, channel
from shangji_kit.settings import Settings


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


def settings_text(s: pb.RegistrationSettings) -> str:
    updated = (f"{s.update_time.ToDatetime().isoformat(timespec='seconds')}Z by {s.updated_by}" if s.updated_by
               else "never (the defaults)")
    return (f"protection_days     {s.protection_days}\n"
            f"collision_mode      {s.collision_mode}\n"
            f"big_deal_threshold  {s.big_deal_threshold or '(none: no big-deal alerts)'}\n"
            f"etag                {s.etag}\n"
            f"updated             {updated}")


def registration_settings(args: argparse.Namespace, out=None) -> int:
    target = args.target or f"127.0.0.1:{Settings.for_service('opportunities').grpc_port}"
    with channel("opportunities", target) as ch:
        api = Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(ch), args.token or None)
        try:
            if args.action == "show":
                settings = api.GetRegistrationSettings(pb.GetRegistrationSettingsRequest())
            else:
                given = {"protection_days": args.protection_days, "collision_mode": args.collision_mode,
                         "big_deal_threshold": args.big_deal_threshold}
                mask = [path for path, value in given.items() if value is not None]
                if not mask:
                    print("set: name at least one of --protection-days, --collision-mode, --big-deal-threshold",
                          file=sys.stderr)
                    return 2
                settings = api.UpdateRegistrationSettings(pb.UpdateRegistrationSettingsRequest(
                    settings=pb.RegistrationSettings(**{k: v for k, v in given.items() if v is not None}),
                    update_mask=field_mask_pb2.FieldMask(paths=mask), etag=args.etag))
        except grpc.RpcError as exc:
            print(f"{exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
    print(settings_text(settings), file=out or sys.stdout)
    return 0


def import_file(path: Path, owner: str, all_or_nothing: bool, uow_factory) -> int:
    """Register a CSV or XLSX file's deals for ``owner`` (users/{id}, also their registrant) and print the report."""
    def run(columns, rows):
        cmd = deal_import.ImportOpportunities(columns=columns, rows=rows, owner=owner, all_or_nothing=all_or_nothing,
                                              file_name=path.name)
        report = deal_import.import_opportunities(cmd, None, uow_factory())
        return report, (f"accepted {report.accepted} (queued {report.queued}), rejected {report.rejected_rows}, "
                        f"already imported {report.already_imported}")
    return table_cli.import_file(path, run)


def export_list(args: argparse.Namespace) -> int:
    fmt = export_rpc.FORMAT_NAMES[args.format]
    if args.list == "opportunities":
        request = pb.ExportOpportunitiesRequest(filter=args.filter, order_by=args.order_by, format=fmt)
        method = "ExportOpportunities"
    else:
        request = pb.ExportTasksRequest(parent=args.parent, filter=args.filter,
                                                       order_by=args.order_by, format=fmt)
        method = "ExportTasks"
    return export_rpc.run("opportunities", args,
                          lambda ch: getattr(opportunities_pb2_grpc.OpportunitiesServiceStub(ch), method), request)


def main(argv: list[str] | None = None, out=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opportunities.entrypoints.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load-pipeline", help="load a pipeline YAML as a new pipeline or a new version")
    load.add_argument("file")
    routing = commands.add_parser("load-routing", help="replace the routing rules with a YAML list")
    routing.add_argument("file")
    settings = commands.add_parser("registration-settings", help="show or change the registration settings "
                                                                 "(sales ops and admins change them)")
    settings.add_argument("action", choices=("show", "set"))
    settings.add_argument("--protection-days", type=int)
    settings.add_argument("--collision-mode")
    settings.add_argument("--big-deal-threshold", help='an amount such as 1000000; "" for no big-deal alerts')
    settings.add_argument("--etag", default="", help="refuse the change if the settings moved on since this etag")
    settings.add_argument("--target", default="")
    settings.add_argument("--token", default=os.environ.get("SHANGJI_TOKEN", ""))
    imp = commands.add_parser("import-opportunities", help="register deals from a CSV or XLSX file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--owner", required=True, help="users/{id} who will own (and register) the deals")
    imp.add_argument("--all-or-nothing", action="store_true", help="any rejected row writes nothing")
    exp = commands.add_parser("export", help="export the deals or tasks you may see as CSV or XLSX")
    exp.add_argument("list", choices=("opportunities", "tasks"))
    exp.add_argument("--parent", default="opportunities/-",
                     help="tasks: opportunities/{id} for one deal's (default: every deal you may see)")
    export_rpc.add_arguments(exp, "opportunities")
    args = parser.parse_args(argv)
    if args.command == "export":
        return export_list(args)
    if args.command == "registration-settings":
        return registration_settings(args, out)
    if args.command == "import-opportunities":
        return import_file(args.file, args.owner, args.all_or_nothing, bootstrap.uow_factory())
    return load_pipeline(args.file) if args.command == "load-pipeline" else load_routing(args.file)


if __name__ == "__main__":
    sys.exit(main())
