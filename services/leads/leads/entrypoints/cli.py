"""Operator commands for leads.

    python -m leads.entrypoints.cli import FILE.csv|FILE.xlsx (--owner users/{id} | --pool) [--all-or-nothing]
    python -m leads.entrypoints.cli import-customers FILE.csv|FILE.xlsx --owner users/{id} [--all-or-nothing]
    python -m leads.entrypoints.cli export leads|customers [--in-pool] [--filter F] [--order-by O]
        [--format csv|xlsx] [-o FILE|DIR] [--target HOST:PORT] [--token JWT]

Imports a CSV or XLSX file of leads, or of customers with their contacts, straight into the leads
database (an operator's tool: it may name any owner and add to any customer), with a report on stdout
(a progress bar on stderr for leads): counts, then every rejected row with its column and reason. Exit
status 0 when every row went in (or was already imported), 1 when rows were rejected, 2 when the file
was refused (nothing written).

``export`` asks the front (ExportLeads, ExportCustomers) as the token's user, so the file holds what that user's
list shows, and writes it with a progress bar on stderr; exit status 0 when saved, 1 when the service refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leads import bootstrap
from leads.service_layer import customer_import, lead_import
from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
from shangji_kit import table_cli
from shangji_kit.rpc import export as export_rpc


def _progress(stage: str, done: int, total: int) -> None:
    export_rpc.progress_bar(stage, done, total)
    if done >= total:
        sys.stderr.write("\n")


def import_file(path: Path, owner: str, to_pool: bool, all_or_nothing: bool, uow_factory, *,
                auto_assign: bool = False, campaign: str = "") -> int:
    def run(columns, rows):
        cmd = lead_import.ImportLeads(columns=columns, rows=rows, owner=owner, to_pool=to_pool,
                                   all_or_nothing=all_or_nothing, file_name=path.name, auto_assign=auto_assign,
                                   campaign=campaign)
        report = lead_import.import_leads(cmd, None, uow_factory(), progress=_progress, now=bootstrap.clock())
        return report, (f"accepted {report.accepted} (flagged {report.flagged}), merged {report.merged}, "
                        f"rejected {report.rejected_rows}, already imported {report.already_imported}"
                        + (f", assigned {report.assigned}" if auto_assign else ""))
    return table_cli.import_file(path, run)


def import_customers_file(path: Path, owner: str, all_or_nothing: bool, uow_factory) -> int:
    def run(columns, rows):
        cmd = customer_import.ImportCustomers(columns=columns, rows=rows, owner=owner, all_or_nothing=all_or_nothing,
                                              file_name=path.name)
        report = customer_import.import_customers(cmd, None, uow_factory(), now=bootstrap.clock())
        return report, (f"customers created {report.customers_created}, matched {report.customers_matched}, "
                        f"contacts created {report.contacts_created}, rejected {report.rejected_rows}, "
                        f"already imported {report.already_imported}")
    return table_cli.import_file(path, run)


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
    customers = commands.add_parser("import-customers", help="import customers with contacts from a CSV or XLSX file")
    customers.add_argument("file", type=Path)
    customers.add_argument("--owner", required=True, help="users/{id} who will own the new customers")
    customers.add_argument("--all-or-nothing", action="store_true", help="any rejected row writes nothing")
    exp = commands.add_parser("export", help="export the leads or customers list you may see as CSV or XLSX")
    exp.add_argument("list", choices=("leads", "customers"))
    exp.add_argument("--in-pool", action="store_true", help="leads: the pool's leads instead of held ones")
    export_rpc.add_arguments(exp, "leads")
    args = parser.parse_args(argv)
    if args.command == "import-customers":
        return import_customers_file(args.file, args.owner, args.all_or_nothing, bootstrap.uow_factory())
    if args.command == "export":
        return export_list(args)
    return import_file(args.file, args.owner or "", args.pool, args.all_or_nothing, bootstrap.uow_factory(),
                       auto_assign=args.auto_assign, campaign=args.campaign)


if __name__ == "__main__":
    sys.exit(main())
