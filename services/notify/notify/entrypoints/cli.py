"""Operator commands: ``python -m notify.entrypoints.cli dead [--channel C]`` lists dead deliveries with their
reason; ``resend deliveries/{id}`` sends one again (the same use case as the ResendDelivery RPC)."""

from __future__ import annotations

import argparse
import sys

from notify import bootstrap
from notify.service_layer import delivery
from shangji_kit import names
from shangji_kit.errors import DomainError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="notify.entrypoints.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    dead = sub.add_parser("dead", help="list dead deliveries, newest first")
    dead.add_argument("--channel", default=None)
    dead.add_argument("--limit", type=int, default=50)
    again = sub.add_parser("resend", help="send a dead delivery again")
    again.add_argument("name", help="deliveries/{id}")
    args = parser.parse_args(argv)
    uow = bootstrap.uow_factory()
    try:
        if args.command == "dead":
            page = delivery.list_dead(None, args.limit, "", args.channel, uow())
            for d in page.deliveries:
                print(f"{d.name}\t{d.channel}\t{d.recipient}\t{d.notice_type}\t{d.attempts}\t{d.last_error}")
            return 0
        d = delivery.resend(None, names.parse(args.name, "deliveries"), uow(), bootstrap.clock())
        print(f"{d.name}\t{d.state}")
        return 0
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
