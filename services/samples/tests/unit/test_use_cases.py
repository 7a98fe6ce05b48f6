"""Each samples workflow's rules through its use cases, against in-memory fakes (no servers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from samples.domain import model
from samples.service_layer import catalogue, decisions, feedback, organisation, requests, shipping
from shangji_kit.clock import fixed
from shangji_kit.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from shangji_kit.inbox import Delivery
from shangji_kit.visibility import OrgDepartment, OrgUser

from .fakes import FakeSamplesUnitOfWork

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CLOCK = fixed(NOW)
OPPORTUNITY = str(uuid.uuid4())


def uid() -> str:
    return str(uuid.uuid4())


@dataclass
class World:
    uow: FakeSamplesUnitOfWork
    vp: str
    director: str
    manager: str
    rep: str
    peer: str
    ops: str
    outsider: str

    def lookup(self, stage: str = "open"):
        return lambda opportunity_id: model.OpportunityFacts("华东精密", "", stage)

    def request_input(self, *lines: tuple[str, int], **changes) -> model.RequestInput:
        fields = dict(opportunity_id=OPPORTUNITY, kind=model.STANDARD, purpose="试用", recipient_name="王工",
                      recipient_phone="13800138000", address="上海", wanted_by_date="",
                      lines=tuple(model.LineInput(p, q) for p, q in (lines or [("PUMP", 1)])))
        fields.update(changes)
        return model.RequestInput(**fields)

    def create(self, *lines: tuple[str, int], as_user: str | None = None, request_id: str = "",
               **changes) -> model.SampleRequest:
        return requests.create_sample_request(self.request_input(*lines, **changes), request_id,
                                              as_user or self.rep, self.lookup(), self.uow, CLOCK)


@pytest.fixture
def world() -> World:
    uow = FakeSamplesUnitOfWork(NOW)
    ids = {k: uid() for k in ("vp", "director", "manager", "rep", "peer", "ops", "outsider", "company", "sales",
                              "team", "other")}
    depts = [OrgDepartment(ids["company"], None, f"/{ids['company']}/", ids["vp"], NOW),
             OrgDepartment(ids["sales"], ids["company"], f"/{ids['company']}/{ids['sales']}/", ids["director"], NOW),
             OrgDepartment(ids["team"], ids["sales"], f"/{ids['company']}/{ids['sales']}/{ids['team']}/",
                           ids["manager"], NOW),
             OrgDepartment(ids["other"], ids["company"], f"/{ids['company']}/{ids['other']}/", None, NOW)]
    users = [OrgUser(ids["vp"], ids["company"], ("sales_manager",), True, NOW),
             OrgUser(ids["director"], ids["sales"], ("sales_manager",), True, NOW),
             OrgUser(ids["manager"], ids["team"], ("sales_manager",), True, NOW),
             OrgUser(ids["rep"], ids["team"], ("sales_rep",), True, NOW),
             OrgUser(ids["peer"], ids["team"], ("sales_rep",), True, NOW),
             OrgUser(ids["ops"], ids["company"], ("sales_ops",), True, NOW),
             OrgUser(ids["outsider"], ids["other"], ("sales_rep",), True, NOW)]
    uow.org.departments.seed(*depts)
    uow.org.users.seed(*users)
    uow.products.seed(model.Product("PUMP", "泵", Decimal(100), "CNY", True, NOW, NOW),
                      model.Product("VALVE", "阀", Decimal(1000), "CNY", True, NOW, NOW),
                      model.Product("RETIRED", "旧", Decimal(1), "CNY", False, NOW, NOW))
    return World(uow, *(ids[k] for k in ("vp", "director", "manager", "rep", "peer", "ops", "outsider")))


def fields(exc: InvalidArgument) -> list[str]:
    return [v.field for v in exc.violations]


# --- catalogue and policy -------------------------------------------------------------------------

def test_a_rep_may_not_manage_the_catalogue_and_learns_nothing_about_the_input(world):
    bad = catalogue.ProductInput(code="bad code!", display_name="", unit_cost="NaN", currency="x", active=True)
    with pytest.raises(PermissionDenied):
        catalogue.create_product(bad, world.rep, world.uow, CLOCK)
    with pytest.raises(PermissionDenied):
        catalogue.update_product(bad, ("nonsense",), world.rep, world.uow, CLOCK)
    with pytest.raises(PermissionDenied):
        catalogue.replace_policy([], "", world.uow, caller_id=world.rep, clock=CLOCK)
    assert world.uow.committed == 0


def test_ops_add_a_product_once_and_every_bad_field_is_named(world):
    made = catalogue.create_product(catalogue.ProductInput("GEAR", "齿轮", "12.5", "cny", True), world.ops,
                                    world.uow, CLOCK)
    assert (made.currency, made.unit_cost, made.create_time) == ("CNY", Decimal("12.5"), NOW)
    with pytest.raises(AlreadyExists):
        catalogue.create_product(catalogue.ProductInput("GEAR", "齿轮", "1", "CNY", True), world.ops, world.uow)
    with pytest.raises(InvalidArgument) as exc:
        catalogue.create_product(catalogue.ProductInput("", "", "1e309", "CNY", True), world.ops, world.uow)
    assert fields(exc.value) == ["product.code", "product.display_name", "product.unit_cost"]
    assert world.uow.committed == 1


def test_a_unit_cost_must_be_finite_and_fit_the_column(world):
    for bad in ("NaN", "Infinity", "-1", "1e309", "100000000000000", "0.00001"):
        with pytest.raises(InvalidArgument) as exc:
            catalogue.update_product(catalogue.ProductInput("PUMP", "", bad, "", True), ("unit_cost",), world.ops,
                                     world.uow)
        assert fields(exc.value) == ["product.unit_cost"], bad
    assert world.uow.products.get("PUMP").unit_cost == Decimal(100)


def test_an_update_names_the_fields_it_changes(world):
    with pytest.raises(InvalidArgument) as exc:
        catalogue.update_product(catalogue.ProductInput("PUMP", "", "", "", True), (), world.ops, world.uow)
    assert fields(exc.value) == ["update_mask"]
    changed = catalogue.update_product(catalogue.ProductInput("PUMP", "", "", "", False), ("active",), world.ops,
                                       world.uow, CLOCK)
    assert not changed.active and world.uow.products.committed()[0].active is False


# --- creating and reading requests ----------------------------------------------------------------

def test_a_request_waits_for_its_first_approver_and_announces_it(world):
    created = world.create(("PUMP", 2))
    assert (created.state, created.estimated_cost, created.cost_centre_id) == (
        model.PENDING_APPROVAL, Decimal(200), world.uow.org.department_of(world.rep))
    assert [s.approver_id for s in created.steps] == [world.manager]
    assert [type(e).__name__ for e in world.uow.events] == ["Submitted", "ApprovalRequested"]
    assert [m.DESCRIPTOR.name for m, _ in world.uow.messages] == ["SampleRequestSubmitted",
                                                                  "SampleApprovalRequested"]


def test_a_big_request_climbs_the_chain(world):
    created = world.create(("VALVE", 60))
    assert [s.approver_id for s in created.steps] == [world.manager, world.director, world.vp]


def test_a_retry_returns_the_first_request_and_another_caller_gets_their_own(world):
    first = world.create(request_id="r-1")
    again = world.create(request_id="r-1")
    theirs = world.create(request_id="r-1", as_user=world.peer)
    assert again.id == first.id and theirs.id != first.id
    assert theirs.requester_id == world.peer
    assert len(world.uow.requests.committed()) == 2


def test_every_bad_field_is_named_at_once(world):
    cmd = world.request_input(("NOPE", 1), ("RETIRED", 0), kind="", recipient_name="",
                              read_errors=(model.FieldViolation("sample_request.opportunity", "bad"),))
    with pytest.raises(InvalidArgument) as exc:
        requests.create_sample_request(cmd, "", world.rep, world.lookup(), world.uow, CLOCK)
    assert fields(exc.value) == ["sample_request.opportunity", "sample_request.kind", "sample_request.recipient_name",
                                 "sample_request.lines[1].quantity", "sample_request.lines[0].product",
                                 "sample_request.lines[1].product"]
    assert world.uow.committed == 0


def test_an_estimated_cost_too_large_to_keep_is_invalid(world):
    world.uow.products.seed(model.Product("GOLD", "金", Decimal("99999999999999"), "CNY", True, NOW, NOW))
    with pytest.raises(InvalidArgument) as exc:
        world.create(("GOLD", 2))
    assert fields(exc.value) == ["sample_request.lines"]


def test_no_samples_for_a_lost_opportunity_and_a_non_user_subject_is_unauthenticated(world):
    with pytest.raises(FailedPrecondition) as exc:
        requests.create_sample_request(world.request_input(), "", world.rep, world.lookup("lost"), world.uow)
    assert exc.value.reason == "OPPORTUNITY_LOST"
    with pytest.raises(Unauthenticated):
        requests.create_sample_request(world.request_input(), "", "service-account", world.lookup(), world.uow)
    assert world.uow.committed == 0


def test_requesters_approvers_managers_and_ops_see_a_request_others_do_not(world):
    created = world.create()
    for viewer in (world.rep, world.manager, world.director, world.vp, world.ops):
        assert requests.get_sample_request(created.id, viewer, world.uow).id == created.id
    for outsider in (world.peer, world.outsider):
        with pytest.raises(NotFound):
            requests.get_sample_request(created.id, outsider, world.uow)
        assert requests.list_sample_requests(outsider, 0, "", False, None, world.uow).requests == []


# --- decisions --------------------------------------------------------------------------------------

def test_the_current_approver_decides_under_the_etag(world):
    created = world.create(("PUMP", 11))
    with pytest.raises(PermissionDenied):
        decisions.approve(created.id, "", created.etag, world.director, world.uow)
    approved = decisions.approve(created.id, "同意", created.etag, world.manager, world.uow, CLOCK)
    assert approved.current_step.approver_id == world.director
    with pytest.raises(Aborted):
        decisions.reject(created.id, "不行", created.etag, world.director, world.uow)
    rejected = decisions.reject(created.id, "不行", approved.etag, world.director, world.uow, CLOCK)
    assert rejected.state == model.REJECTED
    with pytest.raises(FailedPrecondition):
        decisions.withdraw(created.id, "不要了", rejected.etag, world.rep, world.uow)


# --- the ERP order, shipping and delivery ----------------------------------------------------------

def ordered(world: World) -> model.SampleRequest:
    created = world.create()
    decisions.approve(created.id, "", "", world.manager, world.uow, CLOCK)
    outcome = shipping.ErpOrderOutcome(request_id=created.id, order_number="SO-1")
    assert shipping.record_erp_order_confirmed(Delivery("samples.on_erp_order_confirmed", "e1", "t"), world.uow,
                                               outcome, CLOCK)
    return world.uow.requests.get(created.id)


def test_an_erp_confirmation_is_recorded_once_per_event(world):
    request = ordered(world)
    assert (request.state, request.erp_order_number) == (model.ORDERED, "SO-1")
    again = shipping.ErpOrderOutcome(request_id=request.id, order_number="SO-2")
    assert shipping.record_erp_order_confirmed(Delivery("samples.on_erp_order_confirmed", "e1", "t"), world.uow,
                                               again) is False
    assert world.uow.requests.get(request.id).erp_order_number == "SO-1"
    assert shipping.record_erp_order_confirmed(Delivery("samples.on_erp_order_confirmed", "e2", "t"), world.uow,
                                               shipping.ErpOrderOutcome(request_id=None)) is False


def test_shipping_then_delivery_by_the_requester_in_order(world):
    request = ordered(world)
    with pytest.raises(PermissionDenied):
        shipping.record_shipment(request.id, "顺丰", "SF1", None, [], "", world.manager, world.uow)
    with pytest.raises(InvalidArgument) as exc:
        shipping.record_shipment(request.id, "", "", NOW + timedelta(days=1), [], "", world.rep, world.uow, CLOCK)
    assert fields(exc.value) == ["courier", "tracking_number", "ship_time"]
    shipped_at = NOW - timedelta(hours=2)
    shipped = shipping.record_shipment(request.id, "顺丰", "SF1", shipped_at, [], "", world.rep, world.uow, CLOCK)
    with pytest.raises(InvalidArgument) as exc:
        shipping.record_delivery(request.id, shipped_at - timedelta(hours=1), [], "", world.rep, world.uow, CLOCK)
    assert fields(exc.value) == ["deliver_time"]
    delivered = shipping.record_delivery(request.id, None, [], shipped.etag, world.rep, world.uow, CLOCK)
    assert (delivered.state, delivered.shipment.deliver_time) == (model.DELIVERED, NOW)


# --- feedback ---------------------------------------------------------------------------------------

def test_feedback_during_the_trial_by_the_people_around_the_request(world):
    request = ordered(world)
    with pytest.raises(FailedPrecondition):
        feedback.raise_feedback(request.id, "漏水", "", world.manager, world.rep, world.uow, CLOCK)
    shipping.record_shipment(request.id, "顺丰", "SF1", None, [], "", world.rep, world.uow, CLOCK)
    with pytest.raises(InvalidArgument):
        feedback.raise_feedback(request.id, "漏水", "", world.outsider + "x", world.rep, world.uow, CLOCK)
    raised = feedback.raise_feedback(request.id, "漏水", "", world.outsider, world.rep, world.uow, CLOCK)
    # The assignee sees the request from now on.
    assert requests.get_sample_request(request.id, world.outsider, world.uow).id == request.id
    with pytest.raises(InvalidArgument) as exc:
        feedback.update_feedback(request.id, raised.id, ("state",), "", "", None, "", world.rep, world.uow)
    assert fields(exc.value) == ["update_mask"]
    with pytest.raises(PermissionDenied):
        feedback.close_feedback(request.id, raised.id, "修好了", "", world.director, world.uow)
    closed = feedback.close_feedback(request.id, raised.id, "修好了", raised.etag, world.outsider, world.uow, CLOCK)
    assert closed.state == model.CLOSED
    assert [type(e).__name__ for e in world.uow.events][-2:] == ["FeedbackRaised", "FeedbackClosed"]


# --- the organisation ---------------------------------------------------------------------------------

def test_a_departed_approver_hands_their_waiting_steps_on_once(world):
    created = world.create(("PUMP", 11))
    decisions.approve(created.id, "", "", world.manager, world.uow, CLOCK)
    left = OrgUser(world.director, world.uow.org.department_of(world.director), ("sales_manager",), False,
                   NOW + timedelta(seconds=1))
    delivery = Delivery("samples.on_user_deactivated", "e-left", "shangji.teams.v1.UserDeactivated")
    assert organisation.record_user(delivery, world.uow, left, CLOCK)
    moved = world.uow.requests.get(created.id)
    # The director's tier is department_head: nobody else heads sales, so the VP (head above) takes it over.
    assert moved.current_step.approver_id == world.vp
    assert organisation.record_user(delivery, world.uow, left, CLOCK) is False
    assert moved.current_step.tier == "sales_director"
