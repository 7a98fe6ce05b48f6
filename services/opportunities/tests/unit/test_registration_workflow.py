"""Registering deals on the in-memory unit of work: direct registration, every bad field at once, collisions
refused or queued (and what the registrant is told), customers the caller may not see, request ids, conversions."""

import uuid
from datetime import datetime, timedelta

import pytest

from opportunities.domain import registration as rules
from opportunities.domain.decision_chain import DealContact
from opportunities.service_layer import lifecycle, registration
from shangji_kit.errors import FailedPrecondition, InvalidArgument, NotFound
from shangji_kit.inbox import Delivery


def register(uow, caller, clock, company="华东精密机械有限公司", lines=("ERP",), **fields):
    cmd = registration.RegisterOpportunity(customer_company=company, product_lines=tuple(lines), **fields)
    return registration.register_opportunity(cmd, caller, uow, clock=clock)


def test_a_rep_registers_a_deal_they_own_in_the_first_stage(uow, people, clock, events):
    rep = people.user()
    deal = register(uow, rep, clock, title="二期", amount="88000", currency="cny")
    stored = uow.deals.get(deal.id)
    assert (stored.owner_id, stored.registrant_id, stored.stage_key, stored.currency) == (rep, rep, "discover", "CNY")
    assert stored.create_time == clock() and uow.deals.stays(deal.id)[0].enter_time == clock()
    assert events(uow) == ["OpportunityRegistered"] and uow.committed == 1


def test_every_bad_field_is_reported_at_once_and_nothing_is_stored(uow, people, clock):
    with pytest.raises(InvalidArgument) as exc:
        register(uow, people.user(), clock, company=" ", lines=(), currency="元", amount="1e309", difficulty="NaN",
                 expected_close_date="2001-01-01", customer="clients/1",
                 quote_lines=(("", "1e-9", "-1", ""),))
    assert sorted(v.field for v in exc.value.violations) == sorted([
        "opportunity.customer_company", "opportunity.title", "opportunity.product_lines", "opportunity.currency",
        "opportunity.expected_close_date", "opportunity.amount", "opportunity.difficulty", "opportunity.customer",
        "opportunity.quote_lines[0].product", "opportunity.quote_lines[0].quantity",
        "opportunity.quote_lines[0].unit_price"])
    assert uow.deals.deals == {} and uow.committed == 0


def test_a_collision_is_refused_naming_the_registrants_manager_not_the_deal(uow, people, clock):
    manager, dept = people.manager_of()
    rep, holder = people.user(department=dept), people.user()
    held = register(uow, holder, clock, lines=("ERP", "CRM"))
    with pytest.raises(FailedPrecondition) as exc:
        register(uow, rep, clock, company="华东精密机械", lines=("erp",))
    assert exc.value.reason == "REGISTRATION_COLLISION"
    assert exc.value.metadata["ask"] == f"users/{manager}" and exc.value.metadata["holder"] == f"users/{holder}"
    assert held.id not in exc.value.message and held.id not in str(exc.value.metadata)
    assert list(uow.deals.deals) == [held.id]


def test_past_the_protection_period_the_customer_is_free(uow, people, clock):
    register(uow, people.user(), clock)
    later = clock() + timedelta(days=rules.RegistrationSettings().protection_days + 1)
    assert register(uow, people.user(), lambda: later).registration_state == rules.ACTIVE


def test_queue_mode_keeps_the_collision_for_a_manager_without_naming_the_deal(uow, people, clock, events):
    uow.registration.settings_row = rules.RegistrationSettings(collision_mode=rules.QUEUE)
    held = register(uow, people.user(), clock)
    queued = register(uow, people.user(), clock)
    assert queued.registration_state == rules.PENDING_ARBITRATION and queued.collides_with is None
    assert uow.deals.get(queued.id).collides_with == held.id
    assert events(uow)[-2:] == ["OpportunityRegistered", "OpportunityRegistrationQueued"]


def test_a_customer_the_caller_may_not_see_is_not_found_and_its_chain_not_copied(uow, people, clock):
    owner, stranger = people.user(), people.user()
    customer = str(uuid.uuid4())
    uow.customers.owners[customer] = (owner, clock())
    uow.customers.chains[customer] = (1, [DealContact(id="", opportunity_id="", display_name="张总",
                                                      buying_role="decision_maker")])
    with pytest.raises(NotFound):
        register(uow, stranger, clock, customer=f"customers/{customer}")
    with pytest.raises(NotFound):  # a customer leads has not told us of
        register(uow, owner, clock, customer=f"customers/{uuid.uuid4()}")
    assert uow.deals.deals == {}
    deal = register(uow, owner, clock, customer=f"customers/{customer}")
    assert [c.display_name for c in uow.deals.contacts(deal.id)] == ["张总"]


def test_a_retry_with_the_same_request_id_returns_the_first_deal_and_is_scoped_to_the_caller(uow, people, clock):
    rep, other = people.user(), people.user()
    first = register(uow, rep, clock, request_id="r-1")
    assert register(uow, rep, clock, request_id="r-1").id == first.id
    assert len(uow.deals.deals) == 1
    theirs = register(uow, other, clock, company="另一家客户", request_id="r-1")
    assert theirs.id != first.id and theirs.owner_id == other


def test_a_conversion_is_handled_once_per_event(uow, people, clock, events):
    owner = people.user()
    cmd = registration.RegisterFromConversion(lead_id=str(uuid.uuid4()), owner_id=owner, registrant_id=owner,
                                              title="", customer_company="华南电子")
    event_id = str(uuid.uuid4())
    deal = registration.register_from_conversion(cmd, event_id, uow, clock=clock)
    assert deal is not None and deal.title == "华南电子"
    assert registration.register_from_conversion(cmd, event_id, uow, clock=clock) is None
    assert len(uow.deals.deals) == 1 and events(uow) == ["OpportunityRegistered"]
    assert uow.inbox.get((registration.LEAD_CONVERTED_CONSUMER, event_id)) == Delivery(
        registration.LEAD_CONVERTED_CONSUMER, event_id, registration.LEAD_CONVERTED_TYPE)


def test_a_manager_above_the_holder_arbitrates_a_queued_registration(uow, people, clock, events):
    uow.registration.settings_row = rules.RegistrationSettings(collision_mode=rules.QUEUE)
    manager, dept = people.manager_of()
    held = register(uow, people.user(department=dept), clock)
    queued = register(uow, people.user(), clock)
    decided_at = clock() + timedelta(hours=1)
    approved = registration.arbitrate_registration(
        registration.ArbitrateRegistration(queued.id, "approve", "客户指定"), manager, uow, clock=lambda: decided_at)
    assert (approved.registration_state, approved.collides_with, approved.arbitration_time) == (
        rules.ACTIVE, held.id, decided_at)
    assert events(uow)[-1] == "OpportunityRegistrationArbitrated"


def test_clock_is_the_one_given(uow, people):
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.now().astimezone().tzinfo)
    assert register(uow, people.user(), lambda: moment).create_time == moment


def _add_lines(uow, caller, deal, lines, clock):
    cmd = lifecycle.UpdateOpportunity(opportunity_id=deal.id, title="", update_mask=("product_lines",),
                                      product_lines=tuple(lines))
    return lifecycle.update_opportunity(cmd, caller, uow, clock=clock)


def test_an_edit_adding_a_held_line_is_refused_in_either_collision_mode(uow, people, clock, events):
    holder, rep = people.user(), people.user()
    register(uow, holder, clock, lines=("ERP",))
    mine = register(uow, rep, clock, lines=("MES",))
    for mode in (rules.REFUSE, rules.QUEUE):
        uow.registration.settings_row = rules.RegistrationSettings(collision_mode=mode)
        with pytest.raises(FailedPrecondition) as exc:
            _add_lines(uow, rep, mine, ("MES", "erp"), clock)
        stored = uow.deals.get(mine.id)
        assert exc.value.reason == "REGISTRATION_COLLISION", mode
        assert (stored.product_lines, stored.registration_state) == (("MES",), rules.ACTIVE), mode
    assert "OpportunityRegistrationQueued" not in events(uow)[2:]
