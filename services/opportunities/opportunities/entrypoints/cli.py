"""Command line: ``python -m opportunities.entrypoints.cli load-pipeline FILE.yaml``, ``load-routing FILE.yaml`` and
``import-opportunities FILE.csv|FILE.xlsx --owner users/{id} [--all-or-nothing]``.

Imports register each row as RegisterOpportunity would and print the report (``shangji_kit.table_cli``).

Loads a pipeline definition as a new pipeline, or as the next version of the pipeline with the same key (deals in
flight keep their version). A definition with any problem is refused, every problem listed, and nothing changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from opportunities import bootstrap
from opportunities.service_layer import assignment, deal_import, pipelines
from shangji_kit import table_cli
from shangji_kit.errors import DomainError, InvalidArgument


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


def import_file(path: Path, owner: str, all_or_nothing: bool, uow_factory) -> int:
    """Register a CSV or XLSX file's deals for ``owner`` (users/{id}, also their registrant) and print the report."""
    def run(columns, rows):
        cmd = deal_import.ImportOpportunities(columns=columns, rows=rows, owner=owner, all_or_nothing=all_or_nothing,
                                              file_name=path.name)
        report = deal_import.import_opportunities(cmd, None, uow_factory())
        return report, (f"accepted {report.accepted} (queued {report.queued}), rejected {report.rejected_rows}, "
                        f"already imported {report.already_imported}")
    return table_cli.import_file(path, run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opportunities.entrypoints.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load-pipeline", help="load a pipeline YAML as a new pipeline or a new version")
    load.add_argument("file")
    routing = commands.add_parser("load-routing", help="replace the routing rules with a YAML list")
    routing.add_argument("file")
    imp = commands.add_parser("import-opportunities", help="register deals from a CSV or XLSX file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--owner", required=True, help="users/{id} who will own (and register) the deals")
    imp.add_argument("--all-or-nothing", action="store_true", help="any rejected row writes nothing")
    args = parser.parse_args(argv)
    if args.command == "import-opportunities":
        return import_file(args.file, args.owner, args.all_or_nothing, bootstrap.uow_factory())
    return load_pipeline(args.file) if args.command == "load-pipeline" else load_routing(args.file)


if __name__ == "__main__":
    sys.exit(main())
