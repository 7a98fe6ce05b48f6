"""GetCustomerTimeline: leads' own items (the customer's leads, follow-ups, conversion) merged with opportunities'
items, asked over gRPC with the caller's token from a real opportunities front; a source that cannot be reached is
named in unavailable_sources and the page is answered without it; NOT_FOUND for a customer the caller may not see;
pages without duplicates or gaps; bad input refused by field."""

import socket
import uuid

import grpc
import pytest

from opportunities.entrypoints import grpc_api as opportunities_api
from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2 as opp_pb
from shangji.opportunities.v1 import opportunities_pb2_grpc
from shangji_kit.rpc.client import Caller
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.processes import free_port, running_front
from shangji_kit.testing.service_db import ServiceDb


@pytest.fixture(scope="module")
def opportunities_front(shangji_env):
    with running_front("opportunities", opportunities_api.register) as front:
        yield f"127.0.0.1:{front.bound_port}"


@pytest.fixture
def opportunities_up_samples_down(opportunities_front, monkeypatch):
    """Leads dials a real opportunities front and a samples address where nothing listens."""
    monkeypatch.setenv("SHANGJI_OPPORTUNITIES_GRPC_TARGET", opportunities_front)
    monkeypatch.setenv("SHANGJI_SAMPLES_GRPC_TARGET", f"127.0.0.1:{free_port()}")
    return opportunities_front


@pytest.fixture
def sources_down(monkeypatch):
    for service in ("OPPORTUNITIES", "SAMPLES"):
        monkeypatch.setenv(f"SHANGJI_{service}_GRPC_TARGET", f"127.0.0.1:{free_port()}")


@pytest.fixture
def samples_silent(monkeypatch):
    """Samples' address accepts connections and never answers (a hung front): the call runs into its deadline."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    monkeypatch.setenv("SHANGJI_OPPORTUNITIES_GRPC_TARGET", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("SHANGJI_SAMPLES_GRPC_TARGET", f"127.0.0.1:{silent.getsockname()[1]}")
    yield
    silent.close()


def converted_customer(leads, *calls: str) -> tuple[leads_pb2.Lead, leads_pb2.FollowUp, str]:
    """A lead with a visit (and a call per note in ``calls``) converted into a new customer, without a deal."""
    lead = leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"星海精工{uuid.uuid4().hex[:6]}有限公司", contact_name="陈工",
        phone=f"139{uuid.uuid4().int % 10**8:08d}", region="华东", source="展会", industry="制造",
        contact_title="采购经理", company_size="200-999")))
    follow_up = leads.AddFollowUp(leads_pb2.AddFollowUpRequest(name=lead.name, kind=leads_pb2.FollowUp.Kind.VISIT,
                                                               note="客户想看产线"))
    for note in calls:
        leads.AddFollowUp(leads_pb2.AddFollowUpRequest(name=lead.name, kind=leads_pb2.FollowUp.Kind.CALL, note=note))
    converted = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, without_opportunity=True))
    return lead, follow_up, converted.customer


def timeline(leads, customer: str, page_size: int = 0, page_token: str = "") -> leads_pb2.CustomerTimeline:
    return leads.GetCustomerTimeline(leads_pb2.GetCustomerTimelineRequest(customer=customer, page_size=page_size,
                                                                          page_token=page_token))


def test_leads_items_merge_with_the_deals_and_a_source_that_is_down_is_named(
        as_user, token_for, opportunities_up_samples_down):
    user_id, leads = as_user()
    lead, follow_up, customer = converted_customer(leads)
    # Opportunities learns of the customer from leads' CustomerCreated; here it is told directly.
    ServiceDb("opportunities").execute(
        "INSERT INTO customer_owners (customer_id, owner_id, update_time) VALUES (:c, :o, now())",
        c=customer.rpartition("/")[2], o=user_id)
    channel = grpc.insecure_channel(opportunities_up_samples_down)
    deal = Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(channel), token_for(user_id)).RegisterOpportunity(
        opp_pb.RegisterOpportunityRequest(opportunity=opp_pb.Opportunity(
            title="产线改造", customer_company=lead.company, product_lines=["ERP"], customer=customer)))
    channel.close()

    page = timeline(leads, customer)
    me = f"users/{user_id}"
    assert [(i.source, i.kind, i.resource, i.title, i.summary, i.actor, i.opportunity, i.lead) for i in page.items] == [
        ("opportunities", "opportunity_registered", deal.name, "商机报备: 产线改造", "", me, deal.name, ""),
        ("leads", "lead_converted", lead.name, f"线索转化: {lead.company} 陈工", "", me, "", lead.name),
        ("leads", "follow_up", follow_up.name, f"跟进(拜访): {lead.company} 陈工", "客户想看产线", me, "", lead.name),
        ("leads", "lead_created", lead.name, f"新线索: {lead.company} 陈工", "", "", "", lead.name),
    ]
    assert list(page.unavailable_sources) == ["samples"]
    assert page.next_page_token == ""
    times = [i.event_time.ToDatetime() for i in page.items]
    assert times == sorted(times, reverse=True)

    # A page at a time across the sources: the same items, none twice.
    seen, token = [], ""
    while True:
        one = timeline(leads, customer, 1, token)
        assert len(one.items) == 1
        seen.append((one.items[0].source, one.items[0].kind, one.items[0].resource))
        token = one.next_page_token
        if not token:
            break
    assert seen == [(i.source, i.kind, i.resource) for i in page.items]


def test_with_every_other_source_down_leads_answers_its_own_items_in_pages(as_user, sources_down):
    _, leads = as_user()
    _, _, customer = converted_customer(leads, "第二次", "第三次")
    whole = timeline(leads, customer)
    assert list(whole.unavailable_sources) == ["opportunities", "samples"]
    assert [(i.kind, i.summary) for i in whole.items] == [
        ("lead_converted", ""), ("follow_up", "第三次"), ("follow_up", "第二次"), ("follow_up", "客户想看产线"),
        ("lead_created", "")]
    first = timeline(leads, customer, 2)
    rest = timeline(leads, customer, 10, first.next_page_token)
    assert [i.resource for i in [*first.items, *rest.items]] == [i.resource for i in whole.items]
    assert rest.next_page_token == ""


def test_a_source_that_does_not_answer_in_time_is_named_too(as_user, samples_silent):
    _, leads = as_user()
    lead, follow_up, customer = converted_customer(leads)
    page = timeline(leads, customer)
    assert list(page.unavailable_sources) == ["opportunities", "samples"]
    assert [(i.kind, i.resource) for i in page.items] == [
        ("lead_converted", lead.name), ("follow_up", follow_up.name), ("lead_created", lead.name)]


def test_a_customer_the_caller_may_not_see_is_not_found(as_user, sources_down):
    _, owner = as_user()
    _, _, customer = converted_customer(owner)
    _, stranger = as_user()
    for name in (customer, f"customers/{uuid.uuid4()}"):
        with pytest.raises(grpc.RpcError) as exc:
            timeline(stranger, name)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(("fields", "field"), [
    ({"customer": ""}, "customer"),
    ({"customer": "leads/1"}, "customer"),
    ({"page_size": -1}, "page_size"),
    ({"page_token": "garbage!"}, "page_token"),
    ({"page_token": "dGx8MjAyNi0wMS0wMVQwMDowMDowMHxr"}, "page_token"),  # a time without its zone
])
def test_bad_input_is_refused_naming_the_field(as_user, sources_down, fields, field):
    _, leads = as_user()
    request = leads_pb2.GetCustomerTimelineRequest(**{"customer": f"customers/{uuid.uuid4()}", **fields})
    with pytest.raises(grpc.RpcError) as exc:
        leads.GetCustomerTimeline(request)
    assert (exc.value.code(), details_of(exc.value)["fields"]) == (grpc.StatusCode.INVALID_ARGUMENT, [field])
