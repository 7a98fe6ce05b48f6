"""Exactly once in the ERP with real worker processes and a real broker: the same approval delivered twice and
concurrently to two workers, a worker killed between the ERP's create and confirm, and an ERP that is down for
a while. Each ends with one confirmed zero-price sale with the department's analytic account on its lines."""

import uuid
from decimal import Decimal

import pytest

from shangji_kit.testing.wait import eventually

# The session's first test that needs trytond builds its template when missing (20-180 s).
pytestmark = pytest.mark.timeout(600)


def job_state(db, reference: str):
    rows = db.rows("SELECT state, attempts, last_error, erp_order_number FROM jobs WHERE reference = :r", r=reference)
    return rows[0] if rows else None


def assert_one_confirmed_free_sale(erp_view, reference: str, department: str) -> dict:
    sales = erp_view.sales(reference)
    assert len(sales) == 1, sales
    sale = sales[0]
    assert sale["state"] in ("confirmed", "processing")
    assert sale["total_amount"] == Decimal(0)
    lines = erp_view.lines(sale["id"])
    assert lines and all(x["unit_price"] == Decimal(0) for x in lines)
    assert all(x["cost_centres"] == [f"departments/{department}"] for x in lines)
    return sale


def test_the_same_approval_twice_and_concurrently_on_two_workers_makes_one_order(
        events, spawn_worker, publish, mapped, db, erp_view):
    workers = [spawn_worker(), spawn_worker()]
    for w in workers:
        w.wait_started()
    department = str(uuid.uuid4())
    body = events.sample_approved(department=department)
    reference = body["data"]["request"]["name"]
    # the event redelivered (same id) and published again by its producer (new ids), all at once
    for copy in (body, body, dict(body, id=str(uuid.uuid4())), dict(body, id=str(uuid.uuid4()))):
        publish("samples", copy)

    eventually(lambda: (s := job_state(db, reference)) is not None and s.state == "confirmed", timeout=60,
               what="order confirmed")
    sale = assert_one_confirmed_free_sale(erp_view, reference, department)
    assert job_state(db, reference).erp_order_number == sale["number"]
    assert db.scalar("SELECT count(*) FROM inbox WHERE consumer = 'erp_bridge.on_sample_request_approved'") == 3
    assert db.scalar("SELECT count(*) FROM outbox WHERE type = 'shangji.erp_bridge.v1.ErpOrderConfirmed' "
                     "AND subject = :r", r=reference) == 1


def test_a_worker_killed_between_create_and_confirm_resumes_the_same_order(
        events, spawn_worker, publish, mapped, db, erp_view):
    doomed = spawn_worker(SHANGJI_ERP_FAULT="exit_after_create")
    doomed.wait_started()
    department = str(uuid.uuid4())
    body = events.sample_approved(department=department)
    reference = body["data"]["request"]["name"]
    publish("samples", body)

    eventually(lambda: doomed.proc.poll() is not None, timeout=60, what="the worker died after the create")
    assert doomed.proc.returncode == 17
    draft, = erp_view.sales(reference)
    assert draft["state"] == "draft"
    assert job_state(db, reference).state == "pending"

    spawn_worker().wait_started()
    eventually(lambda: job_state(db, reference).state == "confirmed", timeout=60, what="order confirmed")
    sale = assert_one_confirmed_free_sale(erp_view, reference, department)
    assert sale["id"] == draft["id"]


def test_an_erp_down_then_up_still_gets_the_order_once(events, spawn_worker, publish, mapped, db, erp_view, tryton):
    spawn_worker().wait_started()
    department = str(uuid.uuid4())
    body = events.sample_approved(department=department)
    reference = body["data"]["request"]["name"]
    tryton.stop()
    try:
        publish("samples", body)
        eventually(lambda: (s := job_state(db, reference)) is not None and s.attempts >= 2, timeout=60,
                   what="retries while the ERP is down")
        waiting = job_state(db, reference)
        assert waiting.state == "pending" and "unreachable" in waiting.last_error
    finally:
        tryton.start()
    eventually(lambda: job_state(db, reference).state == "confirmed", timeout=60, what="order confirmed")
    assert_one_confirmed_free_sale(erp_view, reference, department)


def test_the_retry_budget_ends_in_a_dead_letter_and_its_event(events, spawn_worker, publish, mapped, db, tryton):
    spawn_worker(SHANGJI_ERP_MAX_ATTEMPTS="2", SHANGJI_ERP_URL="http://127.0.0.1:9").wait_started()
    body = events.sample_approved()
    reference = body["data"]["request"]["name"]
    publish("samples", body)
    eventually(lambda: (s := job_state(db, reference)) is not None and s.state == "dead_letter", timeout=60,
               what="dead letter")
    assert job_state(db, reference).attempts == 2
    dead = db.rows("SELECT data FROM outbox WHERE type = 'shangji.erp_bridge.v1.ErpOrderDeadLettered' "
                   "AND subject = :r", r=reference)
    assert len(dead) == 1 and "unreachable" in dead[0].data["error"] and dead[0].data["attempts"] == 2
