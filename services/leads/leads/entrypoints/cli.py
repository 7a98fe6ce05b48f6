"""Operator commands for leads.

    python -m leads.entrypoints.cli import FILE.csv|FILE.xlsx (--owner users/{id} | --pool) [--all-or-nothing]
    python -m leads.entrypoints.cli export leads|customers [--in-pool] [--filter F] [--order-by O]
        [--format csv|xlsx] [-o FILE|DIR] [--target HOST:PORT] [--token JWT]

Imports a CSV or XLSX file straight into the leads database (an operator's tool: it may name any
owner), with a progress bar on stderr and a report on stdout: counts, then every rejected row with
its column and reason. Exit status 0 when every row went in (or was already imported), 1 when rows
were rejected, 2 when the file was refused (nothing written).

``export`` asks the front (ExportLeads, ExportCustomers) as the token's user, so the file holds what that user's
list shows, and writes it with a progress bar on stderr; exit status 0 when saved, 1 when the service refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leads import bootstrap
from leads.adapters import tables
from leads.service_layer import lead_import
from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
from shangji_kit.errors import DomainError
from shangji_kit.rpc import export as export_rpc


def _progress(stage: str, done: int, total: int) -> None:
    export_rpc.progress_bar(stage, done, total)
    if done >= total:
        sys.stderr.write("\n")


def import_file(path: Path, owner: str, to_pool: bool, all_or_nothing: bool, uow_factory, *,
                auto_assign: bool = False, campaign: str = "") -> int:
    try:
        columns, rows = tables.read_table(path.read_bytes(), path.name)
        sys.stderr.write(f"{path.name}: {len(rows)} rows read\n")
        cmd = lead_import.ImportLeads(columns=columns, rows=rows, owner=owner, to_pool=to_pool,
                                   all_or_nothing=all_or_nothing, file_name=path.name, auto_assign=auto_assign,
                                   campaign=campaign)
        report = lead_import.import_leads(cmd, None, uow_factory(), progress=_progress, now=bootstrap.clock())
    except DomainError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        for v in getattr(exc, "violations", []):
            print(f"  {v.field}: {v.description}", file=sys.stderr)
        return 2
    print(f"{path.name}: {'committed' if report.committed else 'NOT committed (all or nothing)'}; "
          f"accepted {report.accepted} (flagged {report.flagged}), merged {report.merged}, "
          f"rejected {report.rejected_rows}, already imported {report.already_imported}"
          + (f", assigned {report.assigned}" if auto_assign else ""))
    for r in report.rejections:
        print(f"  row {r.row_number}: {r.field}: {r.reason}")
    return 1 if report.rejections else 0


def export_list(args: argparse.Namespace) -> int:
    fmt = export_rpc.FORMAT_NAMES[args.format]
    if args.list == "leads":
        request = leads_pb2.ExportLeadsRequest(in_pool=args.in_pool, filter=args.filter, order_by=args.order_by,
                                               format=fmt)
        return export_rpc.run("leads", args, lambda ch: leads_pb2_grpc.LeadsServiceStub(ch).ExportLeads, request)
    request = leads_pb2.ExportCustomersRequest(filter=args.filter, order_by=args.order_by, format=fmt)
    return export_rpc.run("leads", args, lambda ch: leads_pb2_grpc.LeadsServiceStub(ch).ExportCustomers, request)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leads.entrypoints.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import", help="import leads from a CSV or XLSX file")
    imp.add_argument("file", type=Path)
    target = imp.add_mutually_exclusive_group(required=True)
    target.add_argument("--owner", help="users/{id} who will hold the leads")
    target.add_argument("--pool", action="store_true", help="put the leads in the pool")
    imp.add_argument("--all-or-nothing", action="store_true", help="any rejected row writes nothing")
    imp.add_argument("--auto-assign", action="store_true", help="with --pool: give each new lead to a rep by the rules")
    imp.add_argument("--campaign", default="", help="campaigns/{id} the rows came from")
    exp = commands.add_parser("export", help="export the leads or customers list you may see as CSV or XLSX")
    exp.add_argument("list", choices=("leads", "customers"))
    exp.add_argument("--in-pool", action="store_true", help="leads: the pool's leads instead of held ones")
    export_rpc.add_arguments(exp, "leads")
    args = parser.parse_args(argv)
    if args.command == "export":
        return export_list(args)
    return import_file(args.file, args.owner or "", args.pool, args.all_or_nothing, bootstrap.uow_factory(),
                       auto_assign=args.auto_assign, campaign=args.campaign)


if __name__ == "__main__":
    sys.exit(main())
