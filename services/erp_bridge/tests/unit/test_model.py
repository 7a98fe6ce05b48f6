"""The order job's rules: which ERP step comes next, backoff and the retry budget, what can never become an
order, reconciliation."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from erp_bridge.domain import model
from erp_bridge.domain.model import ErpOrder, ErpRejected, Job, OrderLine, OrderRequest, RetryPolicy

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def sample(**kw) -> OrderRequest:
    fields = dict(reference="sampleRequests/1", source_kind=model.SAMPLE_REQUEST, source="sampleRequests/1",
                  customer_key="customers/c1", customer_name="华东精密", cost_centre="departments/d1",
                  lines=(OrderLine("P-1", Decimal(3), Decimal("99.50")),))
    fields.update(kw)
    return OrderRequest(**fields)


def job(**kw) -> Job:
    return Job(id="j1", reference="sampleRequests/1", source_kind=model.SAMPLE_REQUEST, source="sampleRequests/1",
               request=sample(), **kw)


def test_the_next_step_resumes_from_the_erp_state():
    assert model.next_step("draft") == "quote"
    assert model.next_step("quotation") == "confirm"
    for done in ("confirmed", "processing", "done"):
        assert model.next_step(done) is None


def test_an_order_cancelled_in_the_erp_is_not_pushed_on():
    with pytest.raises(ErpRejected, match="cancelled"):
        model.next_step("cancelled")


def test_backoff_grows_with_jitter_and_is_capped():
    policy = RetryPolicy(max_attempts=10, base_seconds=2, max_seconds=30)
    rand = random.Random(7)
    for attempts in range(1, 10):
        ceiling = min(30, 2 * 2 ** (attempts - 1))
        for _ in range(50):
            delay = policy.delay(attempts, rand)
            assert timedelta(seconds=2) <= delay <= timedelta(seconds=ceiling)


def test_a_transient_failure_waits_then_the_budget_ends_in_a_dead_letter_with_its_event():
    policy = RetryPolicy(max_attempts=3, base_seconds=1, max_seconds=5)
    j = job()
    j.failed("Tryton unreachable", NOW, policy)
    assert j.state == model.PENDING and j.attempts == 1 and j.next_attempt_time > NOW
    j.failed("Tryton unreachable", NOW, policy)
    assert j.state == model.PENDING and not j.events
    j.failed("Tryton unreachable", NOW, policy)
    assert j.state == model.DEAD_LETTER and j.next_attempt_time is None
    assert [type(e) for e in j.events] == [model.OrderDeadLettered]


def test_a_permanent_failure_dead_letters_at_once():
    j = job()
    j.failed("no ERP product is mapped for P-1", NOW, RetryPolicy(max_attempts=8), permanent=True)
    assert j.state == model.DEAD_LETTER and j.attempts == 1
    assert j.last_error == "no ERP product is mapped for P-1"


def test_retry_gives_a_fresh_budget():
    j = job()
    j.failed("x", NOW, RetryPolicy(max_attempts=1))
    j.retry(NOW)
    assert (j.state, j.attempts, j.next_attempt_time) == (model.PENDING, 0, NOW)


def test_confirmation_records_the_erp_number_and_an_event():
    j = job()
    j.confirmed(ErpOrder(erp_id=4, number="SO-7", state="processing", reference=j.reference), NOW)
    assert (j.state, j.erp_order_number, j.erp_state) == (model.CONFIRMED, "SO-7", "processing")
    assert [type(e) for e in j.events] == [model.OrderConfirmed]


def test_a_won_deal_without_quote_lines_can_never_be_an_order():
    deal = sample(source_kind=model.OPPORTUNITY, cost_centre="", lines=())
    assert any("no quote lines" in p for p in deal.problems())


def test_zero_or_negative_quantities_are_problems():
    bad = sample(lines=(OrderLine("P-1", Decimal(0), Decimal(0)), OrderLine("P-2", Decimal(-2), Decimal(0))))
    problems = bad.problems()
    assert len(problems) == 2 and "line 1 (P-1)" in problems[0] and "line 2 (P-2)" in problems[1]


def test_a_free_order_is_priced_zero_whatever_arrives_and_a_sale_keeps_its_prices():
    mappings = {"P-1": "TRY-1"}
    assert model.to_erp_lines(sample(), mappings) == (OrderLine("TRY-1", Decimal(3), Decimal(0)),)
    deal = sample(source_kind=model.OPPORTUNITY)
    assert model.to_erp_lines(deal, mappings)[0].unit_price == Decimal("99.50")
    assert model.unmapped_products(sample(), {}) == ["P-1"]


def test_party_codes_are_stable_per_customer():
    assert model.derived_party_code("customers/abc") == "SJ-abc"
    a = model.derived_party_code(model.customer_key("", "  华东 精密 "))
    b = model.derived_party_code(model.customer_key("", "华东 精密"))
    assert a == b and a.startswith("SJC-")


def test_reconcile_flags_what_differs():
    confirmed = job(state=model.CONFIRMED, erp_order_number="7")
    assert model.reconcile(confirmed, ErpOrder(1, "7", "processing", "r")) is None
    assert model.reconcile(confirmed, None).erp == "missing"
    assert "otherwise" in model.reconcile(confirmed, ErpOrder(1, "7", "cancelled", "r")).detail
    assert "number differs" in model.reconcile(confirmed, ErpOrder(1, "8", "confirmed", "r")).detail
    assert model.reconcile(job(state=model.DEAD_LETTER), ErpOrder(1, "9", "confirmed", "r")) is not None
    assert model.reconcile(job(state=model.PENDING), None) is None
