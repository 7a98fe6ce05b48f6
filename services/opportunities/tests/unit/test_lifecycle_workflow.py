"""A deal's life on the in-memory unit of work: reading and listing under the visibility rules, edits with
etags, and moves through the pipeline (gates, tasks on entry, history), at the time the clock gives."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from opportunities.domain.decision_chain import DealContact
from opportunities.domain.model import TeamMember
from opportunities.service_layer import lifecycle, registration
from shangji_kit.errors import Aborted, FailedPrecondition, NotFound, PermissionDenied


@pytest.fixture
def deal(uow, people, clock):
    rep = people.user()
    cmd = registration.RegisterOpportunity(customer_company=f"客户{uuid.uuid4().hex[:6]}", product_lines=("ERP",))
    return registration.register_opportunity(cmd, rep, uow, clock=clock)


def advance(uow, deal, caller, clock, **fields):
    return lifecycle.advance_stage(lifecycle.AdvanceStage(deal.id, **fields), caller, uow, clock=clock)


def test_only_those_who_may_see_a_deal_get_or_list_it(uow, people, deal):
    manager, dept = people.manager_of()
    uow.org.users.seed(uow.org.users.get(deal.owner_id).__class__(deal.owner_id, dept, ("sales_rep",), True,
                                                                     deal.create_time))
    stranger, ops = people.user(), people.user(roles=("sales_ops",))
    for caller in (deal.owner_id, manager, ops):
        assert lifecycle.get_opportunity(deal.id, caller, uow).id == deal.id
        assert [o.id for o in lifecycle.list_opportunities(caller, 0, "", uow).opportunities] == [deal.id]
    with pytest.raises(NotFound):
        lifecycle.get_opportunity(deal.id, stranger, uow)
    assert lifecycle.list_opportunities(stranger, 0, "", uow).opportunities == []


def test_a_gate_unmet_refuses_the_move_and_changes_nothing(uow, deal, clock, events):
    with pytest.raises(FailedPrecondition) as exc:
        advance(uow, deal, deal.owner_id, clock)
    assert exc.value.reason == "EXIT_CRITERIA_UNMET"
    assert uow.deals.get(deal.id).stage_key == "discover" and events(uow) == ["OpportunityRegistered"]


def test_an_advance_records_the_stay_makes_the_stage_tasks_and_announces_both(uow, people, deal, clock, events):
    presales = people.user()
    uow.teams.add(TeamMember(deal.id, presales, "presales", False, clock()))
    lifecycle.update_opportunity(lifecycle.UpdateOpportunity(deal.id, title="", update_mask=("amount",),
                                                             amount="1000"), deal.owner_id, uow, clock=clock)
    moved_at = clock() + timedelta(days=3)
    moved = advance(uow, deal, deal.owner_id, lambda: moved_at, etag="2")
    assert (moved.stage_key, moved.version, moved.stage_enter_time) == ("solution", 3, moved_at)
    assert [(s.stage_key, s.exit_time) for s in uow.deals.stays(deal.id)] == [("discover", moved_at),
                                                                               ("solution", None)]
    [task] = uow.tasks.of_deal(deal.id)
    assert (task.title, task.assignee_id, task.due_date) == ("编写解决方案", presales, (moved_at + timedelta(7)).date())
    assert events(uow)[-2:] == ["OpportunityStageChanged", "TaskCreated"]


def test_a_stale_etag_is_aborted_and_a_viewer_who_may_not_edit_is_denied(uow, people, deal, clock):
    with pytest.raises(Aborted):
        advance(uow, deal, deal.owner_id, clock, etag="7")
    ops = people.user(roles=("sales_ops",))  # sees everything, changes nothing
    with pytest.raises(PermissionDenied):
        advance(uow, deal, ops, clock)
    with pytest.raises(NotFound):
        advance(uow, deal, people.user(), clock)


def test_won_lost_and_reopened_into_the_stage_it_was_closed_from(uow, deal, clock, events):
    uow.deals.add_contacts([DealContact(id="c1", opportunity_id=deal.id, display_name="张总",
                                        buying_role="decision_maker")])
    lifecycle.update_opportunity(lifecycle.UpdateOpportunity(deal.id, title="", update_mask=("amount",),
                                                             amount="1000"), deal.owner_id, uow, clock=clock)
    advance(uow, deal, deal.owner_id, clock)
    won = lifecycle.win_opportunity(lifecycle.WinOpportunity(deal.id, amount="5000"), deal.owner_id, uow,
                                    clock=clock)
    assert (won.stage_key, won.amount, won.win_date) == ("won", Decimal("5000.00"), clock().date())
    reopened = lifecycle.reopen_opportunity(lifecycle.ReopenOpportunity(deal.id, reason="客户回来了"),
                                            deal.owner_id, uow, clock=clock)
    assert reopened.stage_key == "solution"
    lost = lifecycle.lose_opportunity(lifecycle.LoseOpportunity(deal.id, reason="价格"), deal.owner_id, uow,
                                      clock=clock)
    assert lost.stage_key == "lost"
    assert events(uow)[-4:] == ["OpportunityWon", "OpportunityReopened", "TaskCreated", "OpportunityLost"]


def test_a_lost_reason_off_the_list_is_refused(uow, deal, clock):
    with pytest.raises(Exception) as exc:
        lifecycle.lose_opportunity(lifecycle.LoseOpportunity(deal.id, reason="不喜欢"), deal.owner_id, uow,
                                   clock=clock)
    assert exc.value.violations[0].field == "reason"
    assert uow.deals.get(deal.id).stage_key == "discover"


def test_a_win_keeps_its_reason_and_competitors_beaten_and_a_refused_win_keeps_none(uow, deal, clock):
    uow.deals.add_contacts([DealContact(id="c1", opportunity_id=deal.id, display_name="张总",
                                        buying_role="decision_maker")])
    lifecycle.update_opportunity(lifecycle.UpdateOpportunity(deal.id, title="", update_mask=("amount",),
                                                             amount="1000"), deal.owner_id, uow, clock=clock)
    advance(uow, deal, deal.owner_id, clock)
    with pytest.raises(Aborted):
        lifecycle.win_opportunity(lifecycle.WinOpportunity(deal.id, etag="1", reason="价格"), deal.owner_id, uow,
                                  clock=clock)
    assert uow.deals.win_reasons == {}
    lifecycle.win_opportunity(lifecycle.WinOpportunity(deal.id, reason=" 价格 ", competitors_beaten=(
        "Acme", " Acme", "", "Globex")), deal.owner_id, uow, clock=clock)
    assert uow.deals.win_reasons[deal.id] == ("价格", ["Acme", "Globex"], clock())
