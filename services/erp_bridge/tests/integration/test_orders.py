"""Approved sample requests and won deals become ERP orders in a real trytond, through the worker's handlers:
zero-price sales with the cost centre on their lines, normal sales of a deal's lines, dead letters with a
clear error, retries, the same event twice, and two workers on one reference."""

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from erp_bridge.domain.model import RetryPolicy
from erp_bridge.service_layer import ordering

# The session's first test that needs trytond builds its template when missing (20-180 s).
pytestmark = pytest.mark.timeout(600)


def now() -> datetime:
    return datetime.now(UTC)


def job(db, reference: str):
    rows = db.rows("SELECT * FROM jobs WHERE reference = :r", r=reference)
    return rows[0] if rows else None


def outbox(db, event_type: str, subject: str) -> list[dict]:
    return [r.data for r in db.rows("SELECT data FROM outbox WHERE type = :t AND subject = :s ORDER BY position",
                                     t=f"shangji.erp_bridge.v1.{event_type}", s=subject)]


def test_an_approved_sample_becomes_one_confirmed_zero_price_sale_charged_to_its_department(
        events, worker, mapped, db, erp_view):
    department = str(uuid.uuid4())
    body = events.sample_approved(department=department, lines=(("SMP-A", 3), ("SMP-B", 2)))
    reference = body["data"]["request"]["name"]

    worker.on_sample_request_approved(body)

    sale, = erp_view.sales(reference)
    assert sale["state"] in ("confirmed", "processing")
    assert sale["total_amount"] == Decimal(0)
    lines = erp_view.lines(sale["id"])
    assert [(x["product_code"], x["quantity"], x["unit_price"]) for x in lines] == [
        ("TRY-SAMPLE-A", 3.0, Decimal(0)), ("TRY-SAMPLE-B", 2.0, Decimal(0))]
    assert all(x["cost_centres"] == [f"departments/{department}"] for x in lines)
    party = erp_view.party(sale["party"])
    assert party["code"] == "SJ-" + body["data"]["request"]["customer"].removeprefix("customers/")
    assert party["name"] == "华东精密机械有限公司"
    row = job(db, reference)
    assert (row.state, row.erp_order_number, row.attempts) == ("confirmed", sale["number"], 0)
    confirmed, = outbox(db, "ErpOrderConfirmed", reference)
    assert confirmed["erpOrderNumber"] == sale["number"] and confirmed["sourceKind"] == "sample_request"
    assert confirmed["reference"] == reference and confirmed["source"] == reference


def test_the_same_approval_twice_makes_one_order(events, worker, mapped, db, erp_view):
    body = events.sample_approved()
    reference = body["data"]["request"]["name"]
    worker.on_sample_request_approved(body)
    worker.on_sample_request_approved(body)  # redelivery: same event id
    worker.on_sample_request_approved(dict(body, id=str(uuid.uuid4())))  # the same approval published again
    assert len(erp_view.sales(reference)) == 1
    assert db.scalar("SELECT count(*) FROM jobs WHERE reference = :r", r=reference) == 1
    assert len(outbox(db, "ErpOrderConfirmed", reference)) == 1


def test_two_workers_on_one_reference_make_one_order(events, worker, mapped, db, erp, erp_view, uow_factory):
    """The job is recorded; two workers work it at once: the row lock lets one through, the other skips."""
    body = events.sample_approved()
    reference = body["data"]["request"]["name"]
    from erp_bridge.entrypoints import inbound
    from shangji_kit.envelope import Envelope
    from shangji_kit.inbox import Delivery

    request = inbound.request_from_sample_approved(Envelope.parse(body))
    assert ordering.record_order_request(Delivery("test", body["id"], body["type"]), uow_factory(), request, now)
    results = []
    barrier = threading.Barrier(2)

    def work():
        barrier.wait()
        results.append(ordering.work_job(reference, erp, RetryPolicy(), now, uow_factory()))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r is None for r in results) == [False, True]
    assert len(erp_view.sales(reference)) == 1
    assert job(db, reference).state == "confirmed"


def test_an_unknown_product_is_a_dead_letter_with_a_clear_error_and_nothing_in_the_erp(
        events, worker, mapped, db, erp_view):
    body = events.sample_approved(lines=(("SMP-A", 1), ("NO-SUCH-THING", 2)))
    reference = body["data"]["request"]["name"]

    worker.on_sample_request_approved(body)

    row = job(db, reference)
    assert row.state == "dead_letter"
    assert "no ERP product is mapped for our product code(s) NO-SUCH-THING" in row.last_error
    assert erp_view.sales(reference) == []
    dead, = outbox(db, "ErpOrderDeadLettered", reference)
    assert "NO-SUCH-THING" in dead["error"] and dead["attempts"] == 1


def test_a_dead_letter_retried_after_its_cause_is_fixed_is_confirmed(
        events, cli, worker, mapped, db, erp, erp_view, uow_factory):
    body = events.sample_approved(lines=(("SMP-NEW", 4),))
    reference = body["data"]["request"]["name"]
    worker.on_sample_request_approved(body)
    assert job(db, reference).state == "dead_letter"
    db.execute("INSERT INTO product_mappings VALUES ('SMP-NEW', 'TRY-SENSOR-7', now())")

    done = cli("retry-dead-letters")
    assert done.returncode == 0, done.stderr
    assert f"retrying {reference}" in done.stdout and "1 dead letters back in the queue" in done.stdout
    assert (job(db, reference).state, job(db, reference).attempts) == ("pending", 0)

    assert ordering.work_due(erp, RetryPolicy(), now, uow_factory) == 1
    sale, = erp_view.sales(reference)
    assert job(db, reference).state == "confirmed" and sale["state"] in ("confirmed", "processing")


def test_a_won_deal_becomes_a_normal_sale_of_its_lines(events, worker, mapped, db, erp_view):
    body = events.opportunity_won(lines=(("GEAR-100", "2", "4800.00"), ("SMP-A", "10", "95.50")), currency="EUR")
    reference = body["data"]["opportunity"]["name"]

    worker.on_opportunity_won(body)

    sale, = erp_view.sales(reference)
    assert sale["state"] in ("confirmed", "processing")
    assert erp_view.currency(sale["currency"]) == "EUR"
    assert sale["total_amount"] == Decimal("10555.00")
    lines = erp_view.lines(sale["id"])
    assert [(x["product_code"], x["quantity"], x["unit_price"]) for x in lines] == [
        ("TRY-GEARBOX-100", 2.0, Decimal("4800.00")), ("TRY-SAMPLE-A", 10.0, Decimal("95.50"))]
    assert erp_view.party(sale["party"])["name"] == "苏州齿轮有限公司"
    confirmed, = outbox(db, "ErpOrderConfirmed", reference)
    assert confirmed["sourceKind"] == "opportunity"


def test_a_won_deal_without_quote_lines_is_dead_lettered_at_once(events, worker, mapped, db, erp_view):
    body = events.opportunity_won(lines=())
    reference = body["data"]["opportunity"]["name"]
    worker.on_opportunity_won(body)
    row = job(db, reference)
    assert row.state == "dead_letter" and "no quote lines" in row.last_error
    assert erp_view.sales(reference) == []
    assert len(outbox(db, "ErpOrderDeadLettered", reference)) == 1


def test_a_customer_mapped_by_hand_gets_the_order_on_that_party(events, worker, mapped, db, erp, erp_view):
    from erp_bridge.domain.model import Customer

    party = erp.upsert_customer(Customer(key="k", name="集团总部 (ERP 名称)", party_code=f"ERP-{uuid.uuid4()}"))
    code = erp_view.party(party)["code"]
    customer = f"customers/{uuid.uuid4()}"
    db.execute("INSERT INTO customer_mappings VALUES (:c, :p, false, now())", c=customer, p=code)
    body = events.sample_approved(customer=customer)
    worker.on_sample_request_approved(body)
    sale, = erp_view.sales(body["data"]["request"]["name"])
    assert sale["party"] == party
    assert erp_view.party(party)["name"] == "集团总部 (ERP 名称)"  # the ERP's name is kept


def test_reconcile_lists_orders_and_fails_on_a_mismatch(events, cli, worker, mapped, db, erp, erp_view):
    good = events.sample_approved()
    worker.on_sample_request_approved(good)
    good_ref = good["data"]["request"]["name"]
    done = cli("reconcile")
    assert done.returncode == 0, done.stdout + done.stderr
    assert good_ref in done.stdout and "1 orders, 0 mismatches" in done.stdout

    # Someone cancels a confirmed order in the ERP, and another we recorded is gone from it.
    other = events.sample_approved()
    worker.on_sample_request_approved(other)
    other_ref = other["data"]["request"]["name"]
    sale, = erp_view.sales(good_ref)
    erp.call("model.sale.sale.write", [sale["id"]], {"reference": "moved-away"})
    db.execute("UPDATE jobs SET erp_order_number = 'X-999' WHERE reference = :r", r=other_ref)

    done = cli("reconcile")
    assert done.returncode == 1
    assert "2 orders, 2 mismatches" in done.stdout
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith("sampleRequests/")}
    assert "we recorded a confirmed order the ERP does not have" in lines[good_ref]
    assert "order number differs: ours X-999" in lines[other_ref]


def test_a_deal_won_again_with_its_lines_revives_its_dead_letter(events, worker, mapped, db, erp_view):
    deal_id = str(uuid.uuid4())
    worker.on_opportunity_won(events.opportunity_won(deal_id=deal_id, lines=()))
    reference = f"opportunities/{deal_id}"
    assert job(db, reference).state == "dead_letter"

    worker.on_opportunity_won(events.opportunity_won(deal_id=deal_id, lines=(("GEAR-100", "1", "5000.00"),)))

    row = job(db, reference)
    assert (row.state, row.last_error) == ("confirmed", "")
    sale, = erp_view.sales(reference)
    assert sale["total_amount"] == Decimal("5000.00")
