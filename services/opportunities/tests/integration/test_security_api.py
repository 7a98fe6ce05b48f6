"""Issue 11 for opportunities, through the in-process front on the real database: a customer the caller may not see
is NOT_FOUND (and its decision chain is not copied), collisions name no deal the caller may not see, admin-only
calls check the caller before the input, and hostile numbers and times are INVALID_ARGUMENT naming the field."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.json_format import MessageToDict

from opportunities.service_layer import projection
from shangji.leads.v1 import events_pb2 as lead_events
from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.rpc.status import details_of
from shangji_kit.testing import envelopes
from shangji_kit.testing.calls import fails


def chain_event(customer_id: str, contacts: list[leads_pb2.DecisionChainContact]) -> dict:
    message = lead_events.CustomerDecisionChainChanged(customer=f"customers/{customer_id}", revision=1,
                                                       contacts=contacts)
    return envelopes.published("leads", message, subject=f"customers/{customer_id}")


def company() -> str:
    return f"安全客户{uuid.uuid4().hex[:8]}有限公司"


def registration(customer_company: str, **fields) -> pb.RegisterOpportunityRequest:
    fields.setdefault("product_lines", ["ERP"])
    return pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(customer_company=customer_company, **fields))


def deals_for(scalar, customer_company: str) -> int:
    return scalar("SELECT count(*) FROM opportunities WHERE customer_company = :c", c=customer_company)


@pytest.fixture
def queue_mode(execute):
    execute("UPDATE registration_settings SET collision_mode = 'queue'")
    yield
    execute("UPDATE registration_settings SET collision_mode = 'refuse', protection_days = 90")


# --- a customer named on a registration ----------------------------------------------------------------------

def test_naming_another_reps_customer_is_not_found_and_copies_nothing(worker, org, as_user, scalar,
                                                                      customer_events):
    manager = org.user(roles=("sales_manager",))
    dept = org.department(head=manager)
    owner = org.user(department=dept)
    stranger = org.user()
    customer = str(uuid.uuid4())
    boss = f"张总{customer[:8]}"
    worker.on_customer_created(customer_events(customer, owner))
    worker.on_customer_decision_chain_changed(chain_event(customer, [leads_pb2.DecisionChainContact(
        name=boss, phone="+8613900000000", email="zhang@example.com", buying_role="decision_maker")]))

    name = company()
    exc = fails(as_user(stranger).RegisterOpportunity, registration(name, customer=f"customers/{customer}"))
    assert exc.code() == grpc.StatusCode.NOT_FOUND
    assert details_of(exc)["metadata"]["resource"] == f"customers/{customer}"
    assert deals_for(scalar, name) == 0
    assert scalar("SELECT count(*) FROM deal_contacts WHERE display_name = :n", n=boss) == 0

    # The owner, and a manager above them, may name it: the chain is copied onto their deal.
    for caller in (owner, manager):
        deal = as_user(caller).RegisterOpportunity(registration(company(), customer=f"customers/{customer}"))
        contacts = as_user(caller).ListDecisionChain(pb.ListDecisionChainRequest(parent=deal.name)).contacts
        assert [c.display_name for c in contacts] == [boss]


def test_a_customer_handed_to_another_rep_follows_its_newest_owner(worker, org, as_user, customer_events):
    first, second = org.user(), org.user()
    customer = str(uuid.uuid4())
    created = customer_events(customer, first)
    moved = customer_events(customer, second, kind="CustomerUpdated")
    worker.on_customer_created(created)
    worker.on_customer_updated(moved)
    worker.on_customer_created(created)  # redelivered and older: changes nothing
    request = registration(company(), customer=f"customers/{customer}")
    assert fails(as_user(first).RegisterOpportunity, request).code() == grpc.StatusCode.NOT_FOUND
    assert as_user(second).RegisterOpportunity(request).customer == f"customers/{customer}"


def test_a_deal_is_linked_only_to_a_customer_its_editor_may_see(worker, org, as_user, customer_events):
    owner, stranger = org.user(), org.user()
    theirs, mine = str(uuid.uuid4()), str(uuid.uuid4())
    worker.on_customer_created(customer_events(theirs, owner))
    worker.on_customer_created(customer_events(mine, stranger))
    deal = as_user(stranger).RegisterOpportunity(registration(company()))
    link = pb.UpdateOpportunityRequest(opportunity=pb.Opportunity(name=deal.name, customer=f"customers/{theirs}"),
                                       update_mask=FieldMask(paths=["customer"]))
    assert fails(as_user(stranger).UpdateOpportunity, link).code() == grpc.StatusCode.NOT_FOUND
    assert as_user(stranger).GetOpportunity(pb.GetOpportunityRequest(name=deal.name)) == deal
    link.opportunity.customer = f"customers/{mine}"
    assert as_user(stranger).UpdateOpportunity(link).customer == f"customers/{mine}"


def test_customer_owner_events_are_claimed_once(worker, scalar, customer_events):
    customer, owner = str(uuid.uuid4()), str(uuid.uuid4())
    body = customer_events(customer, owner)
    worker.on_customer_created(body)
    worker.on_customer_created(body)
    assert scalar("SELECT count(*) FROM inbox WHERE event_id = :e AND consumer = :c", e=body["id"],
                  c=projection.CUSTOMER_CREATED_CONSUMER) == 1
    assert scalar("SELECT owner_id::text FROM customer_owners WHERE customer_id = :c", c=customer) == owner


# --- collisions name no deal the caller may not see -----------------------------------------------------------

def test_a_refused_collision_says_whom_to_ask_and_names_no_deal(org, as_user):
    manager = org.user(roles=("sales_manager",))
    dept = org.department(head=manager)
    rep = org.user(department=dept)
    holder = org.user()
    name = company()
    held = as_user(holder).RegisterOpportunity(registration(name))
    exc = fails(as_user(rep).RegisterOpportunity, registration(name))
    assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = details_of(exc)
    assert details["reason"] == "REGISTRATION_COLLISION"
    assert details["metadata"]["ask"] == f"users/{manager}"
    assert held.id not in str(details) and held.id not in exc.details()
    # Nobody above the registrant: sales ops settle it.
    loner = org.user()
    assert details_of(fails(as_user(loner).RegisterOpportunity, registration(name)))["metadata"]["ask"] == "sales_ops"


def test_a_queued_registration_does_not_name_the_deal_it_hit(as_user, queue_mode):
    holder, rep, name = str(uuid.uuid4()), str(uuid.uuid4()), company()
    held = as_user(holder).RegisterOpportunity(registration(name))
    queued = as_user(rep).RegisterOpportunity(registration(name))
    assert queued.registration_state == pb.Opportunity.PENDING_ARBITRATION
    assert held.id not in str(MessageToDict(queued))
    again = as_user(rep).GetOpportunity(pb.GetOpportunityRequest(name=queued.name))
    listed = as_user(rep).ListOpportunities(pb.ListOpportunitiesRequest()).opportunities
    assert again.collides_with == "" and [o.collides_with for o in listed if o.name == queued.name] == [""]


# --- admin-only calls check the caller first ------------------------------------------------------------------

def test_admin_only_calls_refuse_a_rep_before_looking_at_the_input(as_user):
    rep = as_user(str(uuid.uuid4()))
    bad_pipeline = pb.Pipeline(key="", stages=[pb.PipelineStage(key="", category="nonsense")])
    denied = fails(rep.CreatePipeline, pb.CreatePipelineRequest(pipeline=bad_pipeline))
    assert (denied.code(), details_of(denied)["reason"]) == (grpc.StatusCode.PERMISSION_DENIED,
                                                             "NOT_A_PIPELINE_ADMIN")
    migrate = fails(rep.MigrateOpportunities, pb.MigrateOpportunitiesRequest(pipeline="nope", from_version=0,
                                                                             opportunities=["bogus"]))
    assert (migrate.code(), details_of(migrate)["reason"]) == (grpc.StatusCode.PERMISSION_DENIED,
                                                               "NOT_A_PIPELINE_ADMIN")
    assign = fails(rep.AssignOpportunities, pb.AssignOpportunitiesRequest(
        assignments=[pb.Assignment(name="x", assignee="y")]))
    assert (assign.code(), details_of(assign)["reason"]) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_AN_ASSIGNER")


# --- hostile numbers and times --------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "expected"), [
    ({"amount": "1e309"}, ["opportunity.amount"]),
    ({"amount": "NaN"}, ["opportunity.amount"]),
    ({"difficulty": "1e309"}, ["opportunity.difficulty"]),
    ({"difficulty": "-Infinity"}, ["opportunity.difficulty"]),
    ({"quote_lines": [pb.QuoteLine(product="A", quantity="1e309", unit_price="NaN"),
                      pb.QuoteLine(product="B", quantity="1e-309", unit_price="1e30")]},
     ["opportunity.quote_lines[0].quantity", "opportunity.quote_lines[0].unit_price",
      "opportunity.quote_lines[1].quantity", "opportunity.quote_lines[1].unit_price"]),
])
def test_non_finite_and_overflowing_numbers_are_refused_naming_the_field(as_user, scalar, fields, expected):
    rep = as_user(str(uuid.uuid4()))
    name = company()
    exc = fails(rep.RegisterOpportunity, registration(name, **fields))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc)["fields"] == expected
    assert deals_for(scalar, name) == 0
    deal = rep.RegisterOpportunity(registration(company()))
    update = fails(rep.UpdateOpportunity, pb.UpdateOpportunityRequest(
        opportunity=pb.Opportunity(name=deal.name, **fields), update_mask=FieldMask(paths=list(fields))))
    assert update.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(update)["fields"] == expected
    assert rep.GetOpportunity(pb.GetOpportunityRequest(name=deal.name)) == deal


def test_a_won_amount_that_overflows_is_refused(as_user):
    rep = as_user(str(uuid.uuid4()))
    deal = rep.RegisterOpportunity(registration(company()))
    exc = fails(rep.WinOpportunity, pb.WinOpportunityRequest(name=deal.name, amount="1e309"))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc)["fields"] == ["amount"]


def test_register_reports_every_bad_field_at_once(as_user, scalar):
    name = company()
    exc = fails(as_user(str(uuid.uuid4())).RegisterOpportunity, registration(
        name, product_lines=[], currency="元", amount="1e309", expected_close_date="2030-13-01", difficulty="0",
        pipeline="pipelines/nope", customer="clients/1",
        quote_lines=[pb.QuoteLine(product="", quantity="1", unit_price="1")]))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(details_of(exc)["fields"]) == sorted([
        "opportunity.product_lines", "opportunity.currency", "opportunity.amount", "opportunity.expected_close_date",
        "opportunity.difficulty", "opportunity.pipeline", "opportunity.customer",
        "opportunity.quote_lines[0].product"])
    assert deals_for(scalar, name) == 0
    # An over-long company (it is indexed) is refused by name, not by the database.
    long_name = fails(as_user(str(uuid.uuid4())).RegisterOpportunity, registration("华" * 5000))
    assert details_of(long_name)["fields"] == ["opportunity.customer_company"]
    # An unknown pipeline is reported beside the other bad fields too.
    unknown = fails(as_user(str(uuid.uuid4())).RegisterOpportunity, registration(
        name, currency="元", pipeline=f"pipelines/{uuid.uuid4()}"))
    assert details_of(unknown)["fields"] == ["opportunity.currency", "opportunity.pipeline"]


@pytest.mark.parametrize("occur", [{"seconds": 10**15}, {"seconds": -10**15}, {"seconds": 0, "nanos": 2 * 10**9}])
def test_an_activity_time_out_of_range_is_refused(as_user, scalar, occur):
    rep = as_user(str(uuid.uuid4()))
    deal = rep.RegisterOpportunity(registration(company()))
    activity = pb.Activity(kind="call", notes="打了电话")
    activity.occur_time.seconds = occur["seconds"]
    activity.occur_time.nanos = occur.get("nanos", 0)
    exc = fails(rep.AddActivity, pb.AddActivityRequest(parent=deal.name, activity=activity))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc)["fields"] == ["activity.occur_time"]
    assert scalar("SELECT count(*) FROM activities WHERE opportunity_id = :i", i=deal.id) == 0


# --- request ids ----------------------------------------------------------------------------------------------

def test_twenty_identical_registrations_with_one_request_id_make_one_deal(as_user, scalar):
    rep_id, name, request_id = str(uuid.uuid4()), company(), str(uuid.uuid4())
    rep = as_user(rep_id)
    request = registration(name, title="并发报备")
    request.request_id = request_id
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: rep.RegisterOpportunity(request), range(20)))
    assert deals_for(scalar, name) == 1
    assert {a.name for a in answers} == {answers[0].name} and answers[0].owner == f"users/{rep_id}"
    assert scalar("SELECT count(*) FROM outbox WHERE subject = :s", s=answers[0].name) == 1
    # A later retry answers with the same deal, and nothing more is written.
    assert rep.RegisterOpportunity(request).name == answers[0].name
    assert deals_for(scalar, name) == 1


def test_an_over_long_request_id_is_refused_by_name(as_user, scalar):
    name = company()
    request = registration(name)
    request.request_id = "r" * 10_000
    exc = fails(as_user(str(uuid.uuid4())).RegisterOpportunity, request)
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc)["fields"] == ["request_id"]
    assert deals_for(scalar, name) == 0


def test_another_callers_request_id_is_unrelated_to_yours(as_user, scalar):
    first, second, request_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    mine = registration(company())
    mine.request_id = request_id
    deal = as_user(first).RegisterOpportunity(mine)
    theirs = registration(company())
    theirs.request_id = request_id
    other = as_user(second).RegisterOpportunity(theirs)
    assert other.name != deal.name and other.owner == f"users/{second}"
    assert as_user(second).ListOpportunities(pb.ListOpportunitiesRequest()).opportunities[0].name == other.name
    assert fails(as_user(second).GetOpportunity, pb.GetOpportunityRequest(name=deal.name)).code() == \
        grpc.StatusCode.NOT_FOUND


def test_a_stage_limit_past_what_a_date_holds_is_refused_so_the_alert_scan_keeps_running(org, as_user):
    ops = org.user(roles=("sales_ops",))
    definition = pb.Pipeline(key=f"p{uuid.uuid4().hex[:8]}", display_name="超长", stages=[
        pb.PipelineStage(key="one", display_name="一", probability=10, max_days=2_000_000_000,
                         tasks_on_entry=[pb.TaskTemplate(title="t", due_in_days=2_000_000_000)]),
        pb.PipelineStage(key="won", display_name="赢", category="won", probability=100),
        pb.PipelineStage(key="lost", display_name="输", category="lost")])
    bad = fails(as_user(ops).CreatePipeline, pb.CreatePipelineRequest(pipeline=definition))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(bad)["fields"] == ["stages[0].max_days", "stages[0].tasks_on_entry[0].due_in_days"]
