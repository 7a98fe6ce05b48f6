"""The request's state machine, its input checks and its feedback, without I/O."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from samples.domain import model
from shangji_kit.errors import Aborted, FailedPrecondition, InvalidArgument, PermissionDenied

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
CATALOGUE = {
    "PUMP-1": model.Product("PUMP-1", "Pump", Decimal("120.50"), "CNY", True),
    "OLD": model.Product("OLD", "Old", Decimal("1"), "CNY", False),
    "USD-1": model.Product("USD-1", "Imported", Decimal("3"), "USD", True),
}


def cmd(*lines, **kw) -> model.RequestInput:
    fields = {"opportunity_id": "o", "kind": model.STANDARD, "purpose": "trial", "recipient_name": "王工",
              "recipient_phone": "", "address": "上海市", "wanted_by_date": "",
              "lines": lines or (model.LineInput("PUMP-1", 2),)}
    fields.update(kw)
    return model.RequestInput(**fields)


def request(*approvers: str) -> model.SampleRequest:
    c = cmd()
    lines, cost, currency, total = model.price_lines(c, CATALOGUE)
    r = model.submit(id="r1", cmd=c, wanted_by=None, lines=lines, estimated_cost=cost, currency=currency,
                     total_quantity=total, requester_id="rep", cost_centre_id="team", customer_company="华东",
                     customer="", approvers=[(f"tier{i}", a) for i, a in enumerate(approvers or ("m",))], now=NOW)
    r.events.clear()
    return r


def test_lines_are_priced_from_the_catalogue():
    lines, cost, currency, total = model.price_lines(cmd(model.LineInput("PUMP-1", 2), model.LineInput("PUMP-1", 1)),
                                                     CATALOGUE)
    assert (cost, currency, total) == (Decimal("361.50"), "CNY", 3)
    assert lines[0].unit_cost == Decimal("120.50")


@pytest.mark.parametrize("quantity", [0, -3])
def test_a_quantity_that_is_not_positive_is_named(quantity):
    with pytest.raises(InvalidArgument) as exc:
        model.validate_input(cmd(model.LineInput("PUMP-1", 1), model.LineInput("PUMP-1", quantity)), NOW.date())
    assert [v.field for v in exc.value.violations] == ["sample_request.lines[1].quantity"]


def test_unknown_inactive_and_other_currency_products_are_each_named():
    with pytest.raises(InvalidArgument) as exc:
        model.price_lines(cmd(model.LineInput("PUMP-1", 1), model.LineInput("NOPE", 1), model.LineInput("OLD", 1),
                              model.LineInput("USD-1", 1)), CATALOGUE)
    assert [v.field for v in exc.value.violations] == [
        "sample_request.lines[1].product", "sample_request.lines[2].product", "sample_request.lines[3].product"]


def test_required_fields_and_dates_are_checked_together():
    with pytest.raises(InvalidArgument) as exc:
        model.validate_input(cmd(kind="", recipient_name=" ", address="", wanted_by_date="2020-01-01", lines=()),
                             NOW.date())
    assert {v.field for v in exc.value.violations} == {
        "sample_request.kind", "sample_request.recipient_name", "sample_request.address",
        "sample_request.wanted_by_date", "sample_request.lines"}
    assert model.validate_input(cmd(wanted_by_date="2026-05-20"), NOW.date()) == date(2026, 5, 20)


def test_submission_waits_for_the_first_approver_and_announces_it():
    c = cmd()
    r = model.submit(id="r1", cmd=c, wanted_by=None, lines=[], estimated_cost=Decimal(0), currency="CNY",
                     total_quantity=0, requester_id="rep", cost_centre_id="team", customer_company="x", customer="",
                     approvers=[("a", "m"), ("b", "d")], now=NOW)
    assert r.state == model.PENDING_APPROVAL and r.current_step.approver_id == "m"
    assert [type(e) for e in r.events] == [model.Submitted, model.ApprovalRequested]


def test_approvals_in_order_then_approved():
    r = request("m", "d")
    r.approve("m", "ok", NOW)
    assert r.state == model.PENDING_APPROVAL and r.current_step.approver_id == "d"
    assert isinstance(r.events[-1], model.ApprovalRequested) and r.events[-1].approver_id == "d"
    r.approve("d", "", NOW)
    assert r.state == model.APPROVED and r.current_step is None
    assert isinstance(r.events[-1], model.Approved) and r.version == 3


def test_only_the_current_approver_decides():
    r = request("m", "d")
    with pytest.raises(PermissionDenied):
        r.approve("d", "", NOW)        # the director before the manager
    with pytest.raises(PermissionDenied):
        r.approve("stranger", "", NOW)


def test_approving_twice_is_a_failed_precondition():
    r = request("m", "d")
    r.approve("m", "", NOW)
    with pytest.raises(FailedPrecondition) as exc:
        r.approve("m", "", NOW)
    assert exc.value.reason == "STEP_ALREADY_DECIDED"
    r.approve("d", "", NOW)
    with pytest.raises(FailedPrecondition) as exc:
        r.approve("d", "", NOW)
    assert exc.value.reason == "NOT_PENDING_APPROVAL"


def test_a_rejection_ends_it_and_needs_a_comment():
    r = request("m", "d")
    with pytest.raises(InvalidArgument):
        r.reject("m", " ", NOW)
    r.reject("m", "too many", NOW)
    assert r.state == model.REJECTED and r.steps[0].outcome == model.STEP_REJECTED
    with pytest.raises(FailedPrecondition):
        r.approve("d", "", NOW)


def test_withdrawal_by_the_requester_only_and_before_the_last_approval():
    r = request("m")
    with pytest.raises(PermissionDenied):
        r.withdraw("m", "", NOW)
    r.withdraw("rep", "not needed", NOW)
    assert r.state == model.WITHDRAWN and isinstance(r.events[-1], model.Withdrawn)
    approved = request("m")
    approved.approve("m", "", NOW)
    with pytest.raises(FailedPrecondition):
        approved.withdraw("rep", "", NOW)


def test_order_shipping_and_delivery_in_order():
    r = request("m")
    with pytest.raises(FailedPrecondition):
        r.ship("SF", "SF1", NOW, [], NOW)
    r.approve("m", "", NOW)
    assert r.record_order("SO-1", NOW) and r.state == model.ORDERED
    assert not r.record_order("SO-1", NOW)     # a second confirmation changes nothing
    with pytest.raises(FailedPrecondition):
        r.deliver(NOW, [], NOW)
    with pytest.raises(InvalidArgument):
        r.ship("", "SF1", NOW, [], NOW)
    r.ship("SF", "SF1", NOW - timedelta(hours=1), [model.Attachment("box.jpg", "s3://b", "photo")], NOW)
    with pytest.raises(InvalidArgument):
        r.deliver(NOW - timedelta(hours=2), [], NOW)      # before it shipped
    r.deliver(NOW, [], NOW)
    assert r.state == model.DELIVERED and isinstance(r.events[-1], model.Delivered)


def test_an_order_failure_is_kept_until_the_order_is_confirmed():
    r = request("m")
    r.approve("m", "", NOW)
    r.record_order_failure("ERP down", NOW, NOW)
    assert r.erp_order_error == "ERP down" and r.state == model.APPROVED
    r.record_order("SO-2", NOW)
    assert r.erp_order_error == "" and r.erp_order_error_time is None


def test_a_stale_etag_is_aborted():
    r = request("m")
    with pytest.raises(Aborted):
        r.check_etag("0")
    r.check_etag(r.etag)


def test_feedback_only_during_the_trial_and_closed_once():
    r = request("m")
    with pytest.raises(FailedPrecondition):
        model.raise_feedback(id="f", request=r, summary="leaks", detail="", assignee_id="s", raised_by="rep", now=NOW)
    r.approve("m", "", NOW)
    r.record_order("SO", NOW)
    r.ship("SF", "1", NOW, [], NOW)
    fb = model.raise_feedback(id="f", request=r, summary="leaks", detail="at 3 bar", assignee_id="s",
                              raised_by="rep", now=NOW)
    fb.update(summary="leaks at seal", detail=None, assignee_id=None, now=NOW)
    assert fb.summary == "leaks at seal" and fb.version == 2
    fb.close("seal replaced", NOW)
    assert fb.state == model.CLOSED
    with pytest.raises(FailedPrecondition):
        fb.close("again", NOW)


def test_an_open_request_follows_its_deal_to_a_new_owner_who_may_then_withdraw_it():
    r = request()
    assert r.owner_id == "rep"  # the requester until the deal changes hands
    assert r.change_owner("peer", model.REASSIGN, NOW, NOW + timedelta(seconds=1))
    assert (r.owner_id, r.version, r.update_time) == ("peer", 2, NOW + timedelta(seconds=1))
    [event] = r.events
    assert (event.previous_owner_id, event.new_owner_id, event.cause, event.time) == ("rep", "peer", "reassign", NOW)
    assert not r.change_owner("peer", model.HANDOVER, NOW, NOW)  # already theirs: nothing changes
    assert not r.change_owner("boss", model.REASSIGN, NOW - timedelta(minutes=1), NOW)  # older than the last change
    with pytest.raises(PermissionDenied):
        r.withdraw("boss", "", NOW)
    r.withdraw("peer", "客户改期", NOW)
    assert r.state == model.WITHDRAWN
    assert not r.change_owner("boss", model.HANDOVER, NOW + timedelta(hours=1), NOW)  # ended: it stays
    assert r.owner_id == "peer"
