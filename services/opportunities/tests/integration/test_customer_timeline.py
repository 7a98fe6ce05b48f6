"""ListCustomerTimeline through the in-process front on the real database: a customer's deals the caller may open,
with their registration, stage moves (won, reopened), activities, tasks and ERP order, newest first; pages that
join without duplicates or gaps, even across items of the same time; the ERP order number kept once from erp_bridge's
ErpOrderConfirmed; bad input refused by field."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from opportunities import bootstrap
from opportunities.service_layer import pipelines
from shangji.erp_bridge.v1 import events_pb2 as erp_events
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing import envelopes

SOON = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()


def load_pipeline() -> pb.Pipeline:
    definition = {"key": f"p{uuid.uuid4().hex[:8]}", "display_name": "时间线流程", "stages": [
        {"key": "contact", "display_name": "接洽", "probability": 10},
        {"key": "proposal", "display_name": "方案", "probability": 40},
        {"key": "won", "display_name": "赢单", "category": "won", "probability": 100},
        {"key": "lost", "display_name": "输单", "category": "lost", "probability": 0}]}
    return pipelines.load_pipeline(definition, bootstrap.uow_factory(Settings.for_service("opportunities"))())


def register(caller, customer_id: str, pipeline: pb.Pipeline, title: str = "华东产线改造") -> pb.Opportunity:
    return caller.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        title=title, customer_company=f"华东精密{uuid.uuid4().hex[:8]}", product_lines=["ERP"],
        pipeline=pipeline.name, customer=f"customers/{customer_id}")))


def order_confirmed(deal: str, number: str, at: datetime | None = None, event_id: str | None = None) -> dict:
    event = erp_events.ErpOrderConfirmed(source_kind="opportunity", source=deal, reference=f"{deal}#1",
                                         erp_order_number=number, erp_state="confirmed")
    event.confirm_time.FromDatetime(at or datetime.now(UTC))
    return envelopes.published("erp_bridge", event, subject=deal, event_id=event_id)


def timeline(caller, customer_id: str, page_size: int = 0, page_token: str = "") -> pb.ListCustomerTimelineResponse:
    return caller.ListCustomerTimeline(pb.ListCustomerTimelineRequest(
        customer=f"customers/{customer_id}", page_size=page_size, page_token=page_token))


def every_page(caller, customer_id: str, page_size: int) -> list[pb.TimelineItem]:
    items, token = [], ""
    while True:
        page = timeline(caller, customer_id, page_size, token)
        assert len(page.items) <= page_size
        items.extend(page.items)
        token = page.next_page_token
        if not token:
            return items


def refused(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    return exc.value


def test_a_deals_life_reads_newest_first_with_its_erp_order(as_user, org, own_customer, worker, scalar):
    owner, helper = org.user(), org.user()
    rep, customer = as_user(owner), own_customer(owner)
    pipeline = load_pipeline()
    deal = register(rep, customer, pipeline)
    deal = rep.AdvanceStage(pb.AdvanceStageRequest(name=deal.name, reason="客户认可需求"))
    activity = rep.AddActivity(pb.AddActivityRequest(parent=deal.name, activity=pb.Activity(kind="visit",
                                                                                             notes="现场演示")))
    task = rep.CreateTask(pb.CreateTaskRequest(parent=deal.name, task=pb.Task(
        title="准备报价", due_date=SOON, assignee=f"users/{helper}")))
    as_user(helper).CompleteTask(pb.CompleteTaskRequest(name=task.name))
    deal = rep.WinOpportunity(pb.WinOpportunityRequest(name=deal.name, amount="120000"))
    confirmed = order_confirmed(deal.name, "SO-2026-0042")
    worker.on_erp_order_confirmed(confirmed)
    worker.on_erp_order_confirmed(confirmed)  # a redelivery changes nothing
    worker.on_erp_order_confirmed(order_confirmed(deal.name, "SO-OTHER"))  # the first order stays
    rep.ReopenOpportunity(pb.ReopenOpportunityRequest(name=deal.name, reason="客户追加需求"))

    assert rep.GetOpportunity(pb.GetOpportunityRequest(name=deal.name)).erp_order_number == "SO-2026-0042"
    items = timeline(rep, customer).items
    assert [(i.kind, i.resource, i.title, i.summary, i.actor) for i in items] == [
        ("opportunity_reopened", deal.name, "重新打开: 华东产线改造 (赢单 → 方案)", "客户追加需求", f"users/{owner}"),
        ("erp_order", deal.name, "ERP 订单 SO-2026-0042: 华东产线改造", "", ""),
        ("opportunity_won", deal.name, "赢单: 华东产线改造", "", f"users/{owner}"),
        ("task_completed", task.name, "任务完成: 准备报价", "", f"users/{helper}"),
        ("task_created", task.name, "新任务: 准备报价", "", f"users/{owner}"),
        ("activity", activity.name, "拜访: 华东产线改造", "现场演示", f"users/{owner}"),
        ("stage_changed", deal.name, "阶段: 接洽 → 方案", "客户认可需求", f"users/{owner}"),
        ("opportunity_registered", deal.name, "商机报备: 华东产线改造", "", f"users/{owner}"),
    ]
    assert {(i.opportunity, i.lead) for i in items} == {(deal.name, "")}
    times = [i.event_time.ToDatetime() for i in items]
    assert times == sorted(times, reverse=True)
    assert timeline(rep, customer).next_page_token == ""
    # Another kind of order (a sample request's) and an unknown deal are not this service's to record.
    worker.on_erp_order_confirmed(envelopes.published("erp_bridge", erp_events.ErpOrderConfirmed(
        source_kind="sample_request", source=f"sampleRequests/{uuid.uuid4()}", erp_order_number="SO-S")))
    worker.on_erp_order_confirmed(order_confirmed(f"opportunities/{uuid.uuid4()}", "SO-GHOST"))
    assert scalar("SELECT count(*) FROM opportunities WHERE erp_order_number IN ('SO-S', 'SO-GHOST')") == 0


def test_pages_join_without_duplicates_or_gaps_even_across_equal_times(as_user, org, own_customer, execute):
    owner = org.user()
    rep, customer = as_user(owner), own_customer(owner)
    pipeline = load_pipeline()
    deals = [register(rep, customer, pipeline, title=f"项目{n}") for n in range(3)]
    for deal in deals:
        for n in range(3):
            rep.AddActivity(pb.AddActivityRequest(parent=deal.name, activity=pb.Activity(kind="call", notes=f"{n}")))
    # Six activities at one instant: only the key orders them, and a page may end between them.
    execute("UPDATE activities SET occur_time = '2026-01-01T08:00:00+00'"
            " WHERE opportunity_id = ANY(CAST(:ids AS uuid[])) AND notes <> '2'", ids=[d.id for d in deals])
    whole = timeline(rep, customer, 200).items
    assert len(whole) == 12  # three registrations, nine activities
    for size in (1, 2, 5, 7):
        paged = every_page(rep, customer, size)
        assert [(i.kind, i.resource) for i in paged] == [(i.kind, i.resource) for i in whole], size
    tied = [i for i in whole if i.event_time.ToDatetime() == datetime(2026, 1, 1, 8)]
    assert len(tied) == 6
    assert [i.resource for i in tied] == sorted(i.resource for i in tied)


def test_a_rep_sees_only_the_deals_they_may_open_and_a_stranger_sees_nothing(as_user, org, own_customer, execute):
    a, b = org.user(), org.user()
    ops = org.user(roles=("sales_ops",))
    customer = own_customer(a)
    pipeline = load_pipeline()
    deal_a = register(as_user(a), customer, pipeline, title="甲的项目")
    deal_b = register(as_user(b), own_customer(b), pipeline, title="乙的项目")
    execute("UPDATE opportunities SET customer_id = :c WHERE id = :id", c=customer, id=deal_b.id)
    seen = {name: {i.opportunity for i in timeline(as_user(name), customer).items} for name in (a, b, ops)}
    assert seen == {a: {deal_a.name}, b: {deal_b.name}, ops: {deal_a.name, deal_b.name}}
    stranger = timeline(as_user(str(uuid.uuid4())), customer)
    assert (list(stranger.items), stranger.next_page_token) == ([], "")
    assert list(timeline(as_user(a), str(uuid.uuid4())).items) == []


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"customer": ""}, "customer"),
    ({"customer": "clients/1"}, "customer"),
    ({"customer": "customers/not-an-id"}, "customer"),
    ({"page_size": -1}, "page_size"),
    ({"page_token": "garbage"}, "page_token"),
    ({"page_token": "dGx8bm90LWEtdGltZXxrZXk="}, "page_token"),  # "tl|not-a-time|key"
    ({"page_token": "dGx8MjAyNi0wMS0wMVQwMDowMDowMCswMDowMHwAAA=="}, "page_token"),  # a NUL in the key
    ({"page_token": "dGx8OTk5OS0xMi0zMVQyMzo1OTo1OS0xMDowMHxr"}, "page_token"),  # past year 9999 in UTC
    ({"page_token": "x" * 5000}, "page_token"),
])
def test_bad_input_is_refused_naming_the_field(as_user, org, request_fields, field):
    rep = as_user(org.user())
    request = pb.ListCustomerTimelineRequest(**{"customer": f"customers/{uuid.uuid4()}", **request_fields})
    error = refused(rep.ListCustomerTimeline, request)
    assert (error.code(), details_of(error)["fields"]) == (grpc.StatusCode.INVALID_ARGUMENT, [field])
