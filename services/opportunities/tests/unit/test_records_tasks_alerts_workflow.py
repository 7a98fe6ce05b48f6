"""A deal's records, tasks, alerts, the assignment queue, pipelines and the projections, on the in-memory unit of
work: each workflow's rules without PostgreSQL or RabbitMQ."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from opportunities.domain import work
from opportunities.domain.decision_chain import DealContact
from opportunities.domain.registration import UNASSIGNED
from opportunities.domain.routing import RoutingRule
from opportunities.service_layer import alerts, assignment, pipelines, projection, records, registration, tasks
from shangji_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.inbox import Delivery


@pytest.fixture
def deal(uow, people, clock):
    cmd = registration.RegisterOpportunity(customer_company=f"客户{uuid.uuid4().hex[:6]}", product_lines=("ERP",),
                                           expected_close_date=(clock() + timedelta(days=30)).date().isoformat())
    return registration.register_opportunity(cmd, people.user(), uow, clock=clock)


# --- records -----------------------------------------------------------------------------------------------

def test_contacts_are_kept_per_deal_and_only_editors_change_them(uow, people, deal, clock):
    added = records.add_contact(deal.id, DealContact(id="", opportunity_id="", display_name=" 陈总 "),
                                deal.owner_id, uow, clock=clock)
    assert [c.display_name for c in records.list_contacts(deal.id, deal.owner_id, uow)] == ["陈总"]
    with pytest.raises(NotFound):
        records.remove_contact(deal.id, added.id, people.user(), uow)
    records.remove_contact(deal.id, added.id, deal.owner_id, uow)
    assert records.list_contacts(deal.id, deal.owner_id, uow) == []


def test_a_document_gets_its_next_version_and_an_activity_may_not_be_in_the_future(uow, deal, clock):
    doc = work.DocumentVersion(opportunity_id=deal.id, document="方案书", uri="s3://a", author_id="")
    assert [records.add_document_version(doc, deal.owner_id, uow, clock=clock).version for _ in range(2)] == [1, 2]
    future = work.Activity(id="", opportunity_id=deal.id, kind="call", occur_time=clock() + timedelta(days=1),
                           author_id="")
    with pytest.raises(InvalidArgument) as exc:
        records.add_activity(future, deal.owner_id, uow, clock=clock)
    assert [v.field for v in exc.value.violations] == ["activity.occur_time"]
    assert records.list_activities(deal.id, deal.owner_id, uow) == []


# --- tasks -------------------------------------------------------------------------------------------------

def test_a_task_goes_to_an_active_known_user_and_its_assignee_completes_it(uow, people, deal, clock, events):
    assignee, gone = people.user(), people.user(active=False)
    due = clock().date() + timedelta(days=2)
    with pytest.raises(InvalidArgument):
        tasks.create_task(tasks.CreateTask(deal.id, "回访", due, str(uuid.uuid4())), deal.owner_id, uow, clock=clock)
    with pytest.raises(FailedPrecondition) as exc:
        tasks.create_task(tasks.CreateTask(deal.id, "回访", due, gone), deal.owner_id, uow, clock=clock)
    assert exc.value.reason == "ASSIGNEE_INACTIVE"
    task = tasks.create_task(tasks.CreateTask(deal.id, "回访", due, assignee), deal.owner_id, uow, clock=clock)
    with pytest.raises(NotFound):
        tasks.complete_task(deal.id, task.id, people.user(), uow, clock=clock)
    done = tasks.complete_task(deal.id, task.id, assignee, uow, clock=clock)
    assert (done.status, done.completed_by, done.complete_time) == (work.DONE, assignee, clock())
    assert events(uow)[-2:] == ["TaskCreated", "TaskCompleted"]
    assert tasks.list_my_tasks(assignee, uow) == []


# --- alerts ------------------------------------------------------------------------------------------------

def test_close_date_alerts_fire_once_per_date(uow, deal, clock):
    soon = clock() + timedelta(days=25)
    assert [a.kind for a in alerts.scan_alerts(clock(), uow)] == []
    assert sorted(a.kind for a in alerts.scan_alerts(soon, uow)) == ["close_date_approaching", "stalled"]
    assert alerts.scan_alerts(soon, uow) == []


def test_a_big_deal_alerts_the_owners_managers(uow, people, clock, events):
    manager, dept = people.manager_of()
    rep = people.user(department=dept)
    uow.registration.threshold = Decimal("100000")
    registration.register_opportunity(registration.RegisterOpportunity(
        customer_company="大客户", product_lines=("ERP",), amount="250000"), rep, uow, clock=clock)
    assert events(uow)[-1] == "OpportunityBigDeal"
    assert uow.events[-1].manager_ids == (manager,)


# --- the assignment queue and pipelines ---------------------------------------------------------------------

def test_routed_deals_wait_unassigned_until_a_manager_assigns_them(uow, people, clock, events):
    manager, dept = people.manager_of()
    mine, rep = people.user(department=dept), people.user()
    uow.registration.routing = [RoutingRule(position=0, owner_id=str(uuid.uuid4()), region="华北")]
    queued = registration.register_opportunity(registration.RegisterOpportunity(
        customer_company="展会客户", product_lines=("ERP",), route=True), rep, uow, clock=clock)
    assert (queued.registration_state, queued.owner_id) == (UNASSIGNED, None)
    with pytest.raises(PermissionDenied):  # the caller first: a rep may not assign, whatever they send
        assignment.assign_opportunities([assignment.Assignment("bogus", "bogus")], rep, uow, clock=clock)
    [assigned] = assignment.assign_opportunities(
        [assignment.Assignment(f"opportunities/{queued.id}", f"users/{mine}")], manager, uow, clock=clock)
    assert (assigned.owner_id, assigned.registration_state) == (mine, "active")
    assert events(uow)[-1] == "OpportunityRegistered"


def test_only_sales_ops_define_pipelines_and_the_caller_is_checked_first(uow, people):
    with pytest.raises(PermissionDenied):
        pipelines.create_pipeline({"key": ""}, people.user(), uow)
    ops = people.user(roles=("sales_ops",))
    with pytest.raises(InvalidArgument):
        pipelines.create_pipeline({"key": ""}, ops, uow)
    with pytest.raises(PermissionDenied):
        pipelines.migrate_opportunities(pipelines.MigrateOpportunities("nope", 0, 0, {}), people.user(), uow)


# --- projections -------------------------------------------------------------------------------------------

def test_a_handover_moves_open_deals_once_per_event(uow, people, deal, clock):
    successor = people.user()
    cmd = projection.TransferOwnership(str(uuid.uuid4()), deal.owner_id, successor)
    delivery = Delivery(projection.OWNERSHIP_TRANSFERRED_CONSUMER, "e-1", "shangji.teams.v1.OwnershipTransferred")
    assert projection.transfer_ownership(delivery, uow, cmd, clock()) == [deal.id]
    assert projection.transfer_ownership(delivery, uow, cmd, clock()) == []
    assert uow.deals.get(deal.id).owner_id == successor


def test_a_customers_newest_owner_wins_whatever_the_order(uow, clock):
    customer, first, second = (str(uuid.uuid4()) for _ in range(3))
    newer = projection.CustomerOwner(customer, second, clock())
    older = projection.CustomerOwner(customer, first, clock() - timedelta(hours=1))
    assert projection.record_customer_updated(Delivery("c", "e-2", "t"), uow, newer) is True
    assert projection.record_customer_created(Delivery("c", "e-1", "t"), uow, older) is False
    assert uow.customers.owners[customer][0] == second


def test_a_recorded_activity_is_announced_with_the_deals_owner(uow, deal, clock, events):
    call = work.Activity(id="", opportunity_id=deal.id, kind="call", occur_time=clock() - timedelta(hours=1),
                         author_id="")
    recorded = records.add_activity(call, deal.owner_id, uow, clock=clock)
    assert events(uow)[-1] == "ActivityRecorded"
    message, subject = uow.messages[-1]
    assert subject == f"opportunities/{deal.id}"
    assert message.owner == f"users/{deal.owner_id}" and message.activity.name.endswith(recorded.id)
