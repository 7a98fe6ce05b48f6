"""The ERP's answers about approved requests: ErpOrderConfirmed records the order (through the real broker to the
worker process, and directly on the handler), ErpOrderDeadLettered shows the failure to the requester."""

import kombu

from shangji.samples.v1 import samples_pb2 as pb
from shangji_kit.consumer import handler_queue_name
from shangji_kit.settings import Settings
from shangji_kit.testing.wait import eventually

from .conftest import count, erp_event, outbox_types, publish

S = pb.SampleRequest
CONFIRMED_QUEUE = handler_queue_name("erp_bridge", "shangji.erp_bridge.v1.ErpOrderConfirmed", "samples",
                                     "on_erp_order_confirmed")


def _publish(*envelopes: dict) -> None:
    publish("erp_bridge", *envelopes)


def _ready(queue: str) -> int:
    with kombu.Connection(Settings.for_service("samples").amqp_uri) as conn:
        channel = conn.channel()
        _, ready, _ = channel.queue_declare(queue=queue, passive=True)
        channel.close()
    return ready


def test_an_order_confirmed_on_the_broker_is_recorded_once(world, samples_worker):
    approved = world.approve(world.create(None, ("PUMP", 2)), world.manager)
    confirmed = erp_event("ErpOrderConfirmed", approved.name, erp_order_number="SO-77")
    _publish(confirmed)
    ordered = eventually(lambda: (r := world.get(approved.name)).state == S.ORDERED and r,
                         what="the request ORDERED by the worker")
    assert ordered.erp_order_number == "SO-77"

    # The same event twice more, then another request's confirmation behind them on the same queue.
    marker = world.approve(world.create(None, ("PUMP", 1)), world.manager)
    _publish(confirmed, confirmed, erp_event("ErpOrderConfirmed", marker.name, erp_order_number="SO-78"))
    eventually(lambda: world.get(marker.name).state == S.ORDERED, what="the marker request ORDERED")
    eventually(lambda: _ready(CONFIRMED_QUEUE) == 0, what="the queue drained")
    assert world.get(approved.name) == ordered
    assert outbox_types().count("SampleOrderRecorded") == 2    # one per request


def test_duplicate_and_foreign_confirmations_change_nothing(world, worker):
    approved = world.approve(world.create(None, ("PUMP", 2)), world.manager)
    event = erp_event("ErpOrderConfirmed", approved.name, erp_order_number="SO-1")
    worker.on_erp_order_confirmed(event)
    first = world.get(approved.name)
    worker.on_erp_order_confirmed(event)                        # redelivery: the inbox has it
    worker.on_erp_order_confirmed(erp_event("ErpOrderConfirmed", approved.name, erp_order_number="SO-1"))
    worker.on_erp_order_confirmed(erp_event("ErpOrderConfirmed", "opportunities/" + approved.id,
                                            source_kind="opportunity", erp_order_number="SO-9"))
    assert world.get(approved.name) == first
    assert (first.state, first.erp_order_number) == (S.ORDERED, "SO-1")
    assert outbox_types().count("SampleOrderRecorded") == 1
    assert count("inbox", "consumer = :c", c="samples.on_erp_order_confirmed") == 3


def test_a_dead_lettered_order_is_shown_on_the_request_until_confirmed(world, worker):
    approved = world.approve(world.create(None, ("PUMP", 2)), world.manager)
    worker.on_erp_order_dead_lettered(erp_event("ErpOrderDeadLettered", approved.name,
                                                error="ERP unreachable after 8 attempts", attempts=8))
    seen = world.get(approved.name)
    assert (seen.state, seen.erp_order_error) == (S.APPROVED, "ERP unreachable after 8 attempts")
    assert seen.HasField("erp_order_error_time")
    worker.on_erp_order_confirmed(erp_event("ErpOrderConfirmed", approved.name, erp_order_number="SO-5"))
    after = world.get(approved.name)
    assert (after.state, after.erp_order_number, after.erp_order_error) == (S.ORDERED, "SO-5", "")
