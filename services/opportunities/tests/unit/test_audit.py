"""The audit trail without I/O: the snapshot diff (domain/audit.py), what each write path records, and
ReassignOpportunity's rules on the in-memory unit of work."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from opportunities.domain import audit
from opportunities.domain.model import QuoteLine
from opportunities.service_layer import assignment, lifecycle, registration
from opportunities.service_layer.projection import (
    OWNERSHIP_TRANSFERRED_CONSUMER,
    TransferOwnership,
    transfer_ownership,
)
from opportunities.service_layer.tasks import CreateTask, create_task
from shangji_kit.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.inbox import Delivery

from .conftest import NOW, trail


@pytest.fixture
def deal(uow, people, clock):
    rep = people.user()
    cmd = registration.RegisterOpportunity(customer_company=f"客户{uuid.uuid4().hex[:6]}", product_lines=("ERP",))
    return registration.register_opportunity(cmd, rep, uow, clock=clock)


def test_the_diff_names_each_changed_field_with_its_old_and_new_text_in_field_order(deal):
    before = audit.snapshot(deal)
    deal.amount, deal.expected_close_date = Decimal("12.50"), date(2026, 7, 1)
    deal.quote_lines = (QuoteLine("X-1", Decimal("2.000"), Decimal("3.5")),)
    deal.difficulty = Decimal("1.200")
    assert audit.diff(before, audit.snapshot(deal)) == (
        audit.FieldChange("amount", "", "12.50"), audit.FieldChange("expected_close_date", "", "2026-07-01"),
        audit.FieldChange("difficulty", "1", "1.2"),
        audit.FieldChange("quote_lines", "", '[{"product": "X-1", "quantity": "2", "unit_price": "3.5", '
                                             '"description": ""}]'))
    assert audit.record("c", deal.id, before, before, audit.Cause(audit.UPDATE, None), NOW) is None
    # A field one side lacks counts as empty (the set-based handover diffs the owner alone).
    assert audit.diff({"owner": "users/a"}, {}) == (audit.FieldChange("owner", "users/a", ""),)


def test_every_saved_change_is_recorded_once_with_its_cause(uow, deal, clock):
    update = lifecycle.UpdateOpportunity(deal.id, title="新标题", update_mask=("title", "amount"), amount="1000")
    lifecycle.update_opportunity(update, deal.owner_id, uow, clock=clock)
    lifecycle.update_opportunity(update, deal.owner_id, uow, clock=clock)  # the same values again: no entry
    later = lambda: NOW + timedelta(hours=1)  # noqa: E731
    lifecycle.lose_opportunity(lifecycle.LoseOpportunity(deal.id, reason="价格"), deal.owner_id, uow, clock=later)
    entries = [m.change for m in trail(uow)]
    assert [(e.kind, e.actor, e.reason) for e in entries] == [("update", f"users/{deal.owner_id}", ""),
                                                               ("lose", f"users/{deal.owner_id}", "价格")]
    assert [(f.field, f.old_value, f.new_value) for f in entries[1].changes] == [
        ("stage", "discover", "lost"), ("probability", "10", "0"), ("lost_reason", "", "价格")]
    page = lifecycle.list_opportunity_changes(deal.id, deal.owner_id, 0, "", uow)
    assert [c.kind for c in page.items] == ["lose", "update"]
    with pytest.raises(NotFound):
        lifecycle.list_opportunity_changes(deal.id, str(uuid.uuid4()), 0, "", uow)


def _reassign(uow, deal, caller, new_owner, clock, **kw):
    cmd = assignment.ReassignOpportunity(deal.id, new_owner, **kw)
    return assignment.reassign_opportunity(cmd, caller, uow, clock=clock)


def test_a_manager_reassigns_with_the_open_tasks_and_a_rep_may_not(uow, people, deal, clock, events):
    manager, dept = people.manager_of()
    owner, peer = deal.owner_id, people.user(department=dept)
    uow.org.users.seed(uow.org.users.get(owner).__class__(owner, dept, ("sales_rep",), True, NOW))
    task = create_task(CreateTask(deal.id, "回访", (NOW + timedelta(days=2)).date(), owner), owner, uow,
                       clock=clock)
    with pytest.raises(PermissionDenied):
        _reassign(uow, deal, owner, peer, clock)
    with pytest.raises(NotFound):
        _reassign(uow, deal, people.user(), peer, clock)
    with pytest.raises(Aborted):
        _reassign(uow, deal, manager, peer, clock, etag="9")
    with pytest.raises(FailedPrecondition) as same:
        _reassign(uow, deal, manager, owner, clock)
    assert same.value.reason == "SAME_OWNER"
    with pytest.raises(FailedPrecondition) as not_sales:
        _reassign(uow, deal, manager, people.user(roles=("presales",)), clock)
    assert not_sales.value.reason == "NEW_OWNER_NOT_SALES_USER"
    with pytest.raises(InvalidArgument):
        _reassign(uow, deal, manager, str(uuid.uuid4()), clock)
    assert uow.deals.get(deal.id).owner_id == owner and trail(uow) == []
    moved = _reassign(uow, deal, manager, peer, clock, reason="调岗")
    assert (moved.owner_id, moved.version) == (peer, 2)
    assert uow.tasks.get(deal.id, task.id).assignee_id == peer
    assert events(uow)[-1] == "OpportunityReassigned"
    [entry] = [m.change for m in trail(uow)]
    assert (entry.kind, entry.reason, [(f.field, f.old_value, f.new_value) for f in entry.changes]) == (
        "reassign", "调岗", [("owner", f"users/{owner}", f"users/{peer}")])


def test_a_handover_records_one_entry_per_deal_moved_and_moves_the_open_tasks(uow, people, deal, clock):
    successor = people.user()
    task = create_task(CreateTask(deal.id, "回访", (NOW + timedelta(days=2)).date(), deal.owner_id),
                       deal.owner_id, uow, clock=clock)
    delivery = Delivery(OWNERSHIP_TRANSFERRED_CONSUMER, "e-1", "shangji.teams.v1.OwnershipTransferred")
    assert transfer_ownership(delivery, uow, TransferOwnership("t-1", deal.owner_id, successor), NOW) == [deal.id]
    assert uow.tasks.get(deal.id, task.id).assignee_id == successor
    [entry] = [m.change for m in trail(uow)]
    assert (entry.kind, entry.actor, entry.reason) == ("handover", "", "ownership transfer t-1")
