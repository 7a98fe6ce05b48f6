"""Each erp_bridge workflow's rules through its use cases, against in-memory fakes and a fake ERP (no servers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from erp_bridge.domain import model
from erp_bridge.domain.model import OrderLine, OrderRequest, ProductMapping, RetryPolicy
from erp_bridge.service_layer import dead_letters, mappings, order_reads, ordering, reconciliation
from shangji_kit.clock import fixed
from shangji_kit.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from shangji_kit.inbox import Delivery
from shangji_kit.visibility import OrgUser

from .fakes import FakeErp, FakeErpBridgeUnitOfWork

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CLOCK = fixed(NOW)
OPS = str(uuid.uuid4())
REP = str(uuid.uuid4())


@pytest.fixture
def uow() -> FakeErpBridgeUnitOfWork:
    uow = FakeErpBridgeUnitOfWork()
    uow.org.users.seed(OrgUser(OPS, None, ("sales_ops",), True, NOW), OrgUser(REP, None, ("sales_rep",), True, NOW))
    uow.mappings.seed(ProductMapping("PUMP", "TRY-PUMP", NOW))
    return uow


def sample(reference: str | None = None, *lines: tuple[str, str], cost_centre: str = "departments/d1"
           ) -> OrderRequest:
    reference = reference or f"sampleRequests/{uuid.uuid4()}"
    return OrderRequest(reference=reference, source_kind=model.SAMPLE_REQUEST, source=reference,
                        customer_key="company:华东", customer_name="华东",
                        lines=tuple(OrderLine(p, Decimal(q), Decimal(0)) for p, q in (lines or [("PUMP", "2")])),
                        cost_centre=cost_centre)


def event(consumer: str = "erp_bridge.on_sample_request_approved") -> Delivery:
    return Delivery(consumer, str(uuid.uuid4()), "shangji.samples.v1.SampleRequestApproved")


def record(uow, request: OrderRequest, delivery: Delivery | None = None) -> bool:
    return ordering.record_order_request(delivery or event(), uow, request, CLOCK)


# --- from events to ERP orders -------------------------------------------------------------------------

def test_an_event_makes_one_job_and_a_redelivery_or_a_repeat_nothing_more(uow):
    request, delivery = sample(), event()
    assert record(uow, request, delivery) is True
    assert record(uow, request, delivery) is False          # redelivery: the inbox
    assert record(uow, request) is False                    # the same approval again: one job per reference
    assert len(uow.jobs.committed()) == 1
    assert uow.committed == 2


def test_a_request_that_can_never_be_an_order_is_dead_lettered_with_its_event(uow):
    assert record(uow, sample(None, ("PUMP", "0"), cost_centre="")) is False
    job = uow.jobs.committed()[0]
    assert (job.state, job.attempts) == (model.DEAD_LETTER, 0)
    assert "quantity must be positive" in job.last_error and "no cost centre" in job.last_error
    assert [m.DESCRIPTOR.name for m, _ in uow.messages] == ["ErpOrderDeadLettered"]


def test_a_worked_job_is_confirmed_in_the_erp_once(uow):
    erp, request = FakeErp(), sample()
    record(uow, request)
    job = ordering.work_job(request.reference, erp, RetryPolicy(), CLOCK, uow)
    assert (job.state, job.erp_order_number) == (model.CONFIRMED, "SO0001")
    assert erp.lines[request.reference][0].product == "TRY-PUMP"   # our code mapped to the ERP's
    assert ordering.work_job(request.reference, erp, RetryPolicy(), CLOCK, uow) is None
    assert len(erp.orders) == 1
    assert [m.DESCRIPTOR.name for m, _ in uow.messages] == ["ErpOrderConfirmed"]


def test_an_order_created_before_a_crash_is_resumed_not_made_twice(uow):
    erp, request = FakeErp(), sample()
    record(uow, request)
    erp.create_free_order(request.reference, 1, None, (), "", "CNY")      # the ERP has it; our commit was lost
    job = ordering.work_job(request.reference, erp, RetryPolicy(), CLOCK, uow)
    assert job.state == model.CONFIRMED and len(erp.orders) == 1


def test_an_erp_outage_backs_off_and_the_budget_ends_in_a_dead_letter(uow):
    erp, request = FakeErp(), sample()
    erp.down = True
    record(uow, request)
    job = ordering.work_job(request.reference, erp, RetryPolicy(max_attempts=2), CLOCK, uow)
    assert (job.state, job.attempts) == (model.PENDING, 1) and job.next_attempt_time > NOW
    later = fixed(NOW + timedelta(hours=1))
    assert ordering.work_due(erp, RetryPolicy(max_attempts=2), later, lambda: uow) == 1
    assert uow.jobs.get(job.id).state == model.DEAD_LETTER
    erp.down = False
    assert [j.id for j in dead_letters.retry_dead_letters(None, uow, later)] == [job.id]
    assert ordering.work_due(erp, RetryPolicy(), later, lambda: uow) == 1
    assert uow.jobs.get(job.id).state == model.CONFIRMED


def test_an_unmapped_product_is_a_dead_letter_that_names_it_and_a_fixed_event_revives_it(uow):
    erp = FakeErp()
    request = sample(None, ("SENSOR", "1"))
    record(uow, request)
    job = ordering.work_job(request.reference, erp, RetryPolicy(), CLOCK, uow)
    assert job.state == model.DEAD_LETTER and "SENSOR" in job.last_error
    assert record(uow, sample(request.reference, ("PUMP", "1"))) is True     # the same reference, fixed
    assert ordering.work_job(request.reference, erp, RetryPolicy(), CLOCK, uow).state == model.CONFIRMED


def test_reconcile_shows_a_job_the_erp_does_not_have(uow):
    erp, request = FakeErp(), sample()
    record(uow, request)
    ordering.work_job(request.reference, erp, RetryPolicy(), CLOCK, uow)
    del erp.orders[request.reference]
    [line] = reconciliation.reconcile(erp, uow)
    assert line.erp is None and line.mismatch is not None


# --- the API: operators only, checked before the input ---------------------------------------------------

def test_a_rep_learns_nothing_about_the_input_and_a_non_user_subject_is_unauthenticated(uow):
    calls = [lambda who: mappings.upsert_product_mapping("nonsense", "", who, uow),
             lambda who: mappings.delete_customer_mapping("nonsense", who, uow),
             lambda who: mappings.list_product_mappings(-1, "garbage", who, uow),
             lambda who: order_reads.get_order("nonsense", who, uow),
             lambda who: order_reads.list_orders(0, "", "nonsense", who, uow),
             lambda who: dead_letters.retry_dead_letters_for(["nonsense"], who, uow)]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call(REP)
        with pytest.raises(Unauthenticated):
            call("service-account")
        with pytest.raises(InvalidArgument):
            call(OPS)
    assert uow.committed == 0


def test_operators_keep_the_mappings(uow):
    with pytest.raises(InvalidArgument) as exc:
        mappings.upsert_product_mapping("productMappings/ VALVE", " ", OPS, uow)
    assert [v.field for v in exc.value.violations] == ["mapping.name", "mapping.erp_product_code"]
    made = mappings.upsert_product_mapping("productMappings/VALVE", "TRY-VALVE", OPS, uow, CLOCK)
    assert (made.product, made.update_time) == ("VALVE", NOW)
    page = mappings.list_product_mappings(1, "", OPS, uow)
    rest = mappings.list_product_mappings(1, page.next_page_token, OPS, uow)
    assert [m.product for m in page.items + rest.items] == ["PUMP", "VALVE"] and rest.next_page_token == ""
    customer = mappings.upsert_customer_mapping(f"customerMappings/{uuid.uuid4()}", "P-1", OPS, uow, CLOCK)
    mappings.delete_customer_mapping(customer.customer.replace("customers/", "customerMappings/"), OPS, uow)
    with pytest.raises(NotFound):
        mappings.delete_product_mapping("productMappings/NOPE", OPS, uow)
