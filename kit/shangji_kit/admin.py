"""Operator commands: ``python -m shangji_kit.admin databases|token|topology|redrive``."""

from __future__ import annotations

import argparse
import sys

from shangji_kit import settings


def cmd_databases(args) -> None:
    from shangji_kit import migrate

    for service in args.services or settings.SERVICES:
        created = migrate.ensure_database(settings.database_name(service))
        migrate.upgrade(service)
        print(f"{service}: database {'created' if created else 'present'}, migrated to head")


def cmd_token(args) -> None:
    from shangji_kit.auth import mint_dev_token

    print(mint_dev_token(args.user_id, roles=tuple(args.role or ()), ttl_seconds=args.ttl))


def cmd_topology(args) -> None:
    from shangji_kit import subscribers, topology

    declared = topology.apply(topology.load(args.file), settings.amqp_uri())
    outside = subscribers.apply(subscribers.load(args.file), settings.amqp_uri())
    print(f"topology: declared {declared} queues, {outside} for outside subscribers")


def cmd_redrive(args) -> None:
    from shangji_kit.redrive import redrive

    moved = redrive(settings.amqp_uri(), args.queue, limit=args.limit)
    print(f"redrive: moved {moved} messages from {args.queue}.dlq to {args.queue}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="shangji-admin")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("databases", help="create the service databases and migrate them to head")
    p.add_argument("services", nargs="*")
    p.set_defaults(fn=cmd_databases)
    p = sub.add_parser("token", help="mint a development (HS256) token for a user id")
    p.add_argument("user_id")
    p.add_argument("--role", action="append")
    p.add_argument("--ttl", type=int, default=12 * 3600)
    p.set_defaults(fn=cmd_token)
    p = sub.add_parser("topology", help="declare exchanges, subscriber, retry and dead-letter queues")
    p.add_argument("--file", default="deploy/rabbitmq/topology.yaml")
    p.set_defaults(fn=cmd_topology)
    p = sub.add_parser("redrive", help="move a consumer's dead letters (<queue>.dlq) back to <queue>")
    p.add_argument("queue")
    p.add_argument("--limit", type=int, default=None, help="at most this many (default: all)")
    p.set_defaults(fn=cmd_redrive)
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main(sys.argv[1:])
