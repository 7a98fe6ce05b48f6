"""A subscriber outside Shangji: reads its events from RabbitMQ with pika and nothing else.

    pip install pika
    python subscriber.py --url amqp://user:pass@broker:5672/ --queue ext.crm.deals
    python subscriber.py --url ... --replay-from 2026-12-01T00:00:00Z     # re-read the replay stream

Each event is a CloudEvent in structured mode: the body is the whole event as JSON
(content type application/cloudevents+json); `data` holds the event message in proto3 JSON
(docs/events/asyncapi.yaml has its schema). Delivery is at least once: deduplicate on `id`
(this example keeps the ids in memory; a real subscriber records them in the same transaction as
its effect). Prints one JSON line per new event. A message that is not a CloudEvent is rejected
without requeue, so the broker moves it to <queue>.dlq (redrive it with
`python -m shangji_kit.admin redrive <queue>` once fixed).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

import pika

CONTENT_TYPE = "application/cloudevents+json"
REQUIRED = ("specversion", "id", "source", "type", "data")


def parse(properties: pika.BasicProperties, body: bytes) -> dict | None:
    """The CloudEvent in a message, or None when the message is not one."""
    if (properties.content_type or "").split(";")[0].strip() != CONTENT_TYPE:
        return None
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if not isinstance(event, dict) or any(k not in event for k in REQUIRED) or event["specversion"] != "1.0":
        return None
    return event


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="AMQP URI of the broker (with the vhost)")
    ap.add_argument("--queue", default="shangji.events.replay", help="your queue (or the replay stream)")
    ap.add_argument("--replay-from", help="read the replay stream from 'first' or an ISO 8601 time")
    ap.add_argument("--max", type=int, default=0, help="stop after this many messages (0: run until stopped)")
    ap.add_argument("--idle-seconds", type=float, default=0, help="stop when nothing arrives for this long")
    ap.add_argument("--until-id", help="stop after the event with this id (e.g. the last one a replay needs)")
    args = ap.parse_args(argv)

    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=50)  # a stream queue requires a prefetch
    arguments = {}
    if args.replay_from:
        arguments["x-stream-offset"] = ("first" if args.replay_from == "first"
                                        else datetime.fromisoformat(args.replay_from.replace("Z", "+00:00")))
    seen: set[str] = set()
    handled = 0
    for method, properties, body in channel.consume(args.queue, arguments=arguments,
                                                    inactivity_timeout=args.idle_seconds or None):
        if method is None:  # idle for --idle-seconds
            break
        event = parse(properties, body)
        if event is None:
            channel.basic_reject(method.delivery_tag, requeue=False)
        else:
            if event["id"] not in seen:
                seen.add(event["id"])
                print(json.dumps({k: event.get(k) for k in ("id", "type", "source", "subject", "time", "data")},
                                 ensure_ascii=False), flush=True)
            channel.basic_ack(method.delivery_tag)
        handled += 1
        if (args.max and handled >= args.max) or (event is not None and event["id"] == args.until_id):
            break
    channel.cancel()
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
