"""Customers and contacts through the front: create, read, list, update with mask and etag, visibility
through the owner, the decision chain's events, bad input (fixtures in conftest.py)."""

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from shangji.leads.v1 import leads_pb2
from shangji_kit.rpc.status import details_of

CREATED = "shangji.leads.v1.CustomerCreated"
UPDATED = "shangji.leads.v1.CustomerUpdated"
CHAIN_CHANGED = "shangji.leads.v1.CustomerDecisionChainChanged"


def outbox(query, event_type: str, subject: str) -> list[dict]:
    return [r[0] for r in query("SELECT data FROM outbox WHERE type = :t AND subject = :s ORDER BY position",
                                t=event_type, s=subject)]


def written(query) -> tuple:
    return tuple(query(f"SELECT count(*) FROM {t}")[0][0] for t in ("customers", "contacts", "outbox"))


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def new_customer(caller, **kw) -> leads_pb2.Customer:
    fields = {"display_name": f"  苏州 丝绸{uuid.uuid4().hex[:6]}有限公司 ", "region": "江苏", "industry": "纺织",
              "size": "50-199", "grade": "b"}
    fields.update(kw)
    return caller.CreateCustomer(leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(**fields)))


def add_contact(caller, customer: str, **kw) -> leads_pb2.Contact:
    fields = {"display_name": "周杰", "title": "CTO", "phone": "139 0013 9000", "email": "Zhou@Example.com",
              "buying_role": "technical_evaluator", "attitude": "neutral", "satisfaction": 3}
    fields.update(kw)
    return caller.CreateContact(leads_pb2.CreateContactRequest(parent=customer, contact=leads_pb2.Contact(**fields)))


def test_create_get_and_list_a_customer_normalised_and_owned_by_the_caller(as_user, query):
    user_id, caller = as_user()
    created = new_customer(caller)
    assert created.name == f"customers/{created.id}" and created.owner == f"users/{user_id}"
    assert created.display_name.startswith("苏州 丝绸") and created.grade == "B" and created.etag == "1"
    assert caller.GetCustomer(leads_pb2.GetCustomerRequest(name=created.name)) == created
    assert [c.name for c in caller.ListCustomers(leads_pb2.ListCustomersRequest()).customers] == [created.name]
    [event] = outbox(query, CREATED, created.name)
    assert event["customer"]["displayName"] == created.display_name


def test_a_retry_with_the_request_id_returns_the_first_customer(as_user, query):
    _, caller = as_user()
    request = leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(display_name=f"重试{uuid.uuid4().hex[:6]}"),
                                              request_id=str(uuid.uuid4()))
    first = caller.CreateCustomer(request)
    before = written(query)
    assert caller.CreateCustomer(request) == first and written(query) == before


def test_the_same_company_in_the_same_region_already_exists(as_user, query):
    _, caller = as_user()
    _, other = as_user()
    created = new_customer(caller, display_name="杭州云帆科技有限公司", region="浙江")
    before = written(query)
    with pytest.raises(grpc.RpcError) as exc:
        new_customer(other, display_name="杭州云帆科技 股份有限公司", region="浙江")
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    # The stranger may not see it: told that it exists and whom to ask, not which it is (README, conflicts).
    details = details_of(exc.value)
    assert details["reason"] == "CUSTOMER_EXISTS" and details["metadata"] == {"ask": "sales ops"}
    assert created.id not in exc.value.details()
    assert written(query) == before
    assert new_customer(other, display_name="杭州云帆科技有限公司", region="上海").name != created.name


def test_bad_fields_are_all_named_and_nothing_is_written(as_user, query):
    _, caller = as_user()
    before = written(query)
    with pytest.raises(grpc.RpcError) as exc:
        new_customer(caller, display_name="  ", grade="Z", region="x" * 101)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc.value)["fields"] == ["customer.display_name", "customer.region", "customer.grade"]
    for owner, code in ((f"users/{uuid.uuid4()}", grpc.StatusCode.INVALID_ARGUMENT),
                        ("people/1", grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.RpcError) as exc:
            new_customer(caller, owner=owner)
        assert exc.value.code() == code and details_of(exc.value)["fields"] == ["customer.owner"]
    assert written(query) == before
    customer = new_customer(caller)
    before = written(query)
    with pytest.raises(grpc.RpcError) as exc:
        add_contact(caller, customer.name, display_name="", phone="12345", email="not-mail", buying_role="boss",
                    attitude="angry", satisfaction=9)
    assert details_of(exc.value)["fields"] == ["contact.display_name", "contact.phone", "contact.email",
                                               "contact.buying_role", "contact.attitude", "contact.satisfaction"]
    with pytest.raises(grpc.RpcError) as exc:
        add_contact(caller, customer.name, phone="", email="")
    assert details_of(exc.value)["fields"] == ["contact.phone"]
    with pytest.raises(grpc.RpcError) as exc:
        add_contact(caller, "leads/1")
    assert details_of(exc.value)["fields"] == ["parent"]
    assert written(query) == before


def test_update_with_a_mask_changes_only_those_fields_and_a_stale_etag_is_aborted(as_user, query):
    _, caller = as_user()
    customer = new_customer(caller)
    updated = caller.UpdateCustomer(leads_pb2.UpdateCustomerRequest(
        customer=leads_pb2.Customer(name=customer.name, grade="A", industry="ignored"), update_mask=mask("grade"),
        etag=customer.etag))
    assert (updated.grade, updated.industry, updated.etag) == ("A", "纺织", "2")
    [event] = outbox(query, UPDATED, customer.name)
    assert event["changedFields"] == ["grade"] and event["customer"]["grade"] == "A"
    before = written(query)
    for request, code, field in (
            (leads_pb2.UpdateCustomerRequest(customer=leads_pb2.Customer(name=customer.name, grade="C"),
                                             update_mask=mask("grade"), etag="1"), grpc.StatusCode.ABORTED, None),
            (leads_pb2.UpdateCustomerRequest(customer=leads_pb2.Customer(name=customer.name, grade="C")),
             grpc.StatusCode.INVALID_ARGUMENT, "update_mask"),
            (leads_pb2.UpdateCustomerRequest(customer=leads_pb2.Customer(name=customer.name), update_mask=mask("id")),
             grpc.StatusCode.INVALID_ARGUMENT, "update_mask"),
            (leads_pb2.UpdateCustomerRequest(customer=leads_pb2.Customer(name=customer.name, grade="Q"),
                                             update_mask=mask("grade")), grpc.StatusCode.INVALID_ARGUMENT,
             "customer.grade"),
            (leads_pb2.UpdateCustomerRequest(customer=leads_pb2.Customer(name=customer.name, owner="people/2"),
                                             update_mask=mask("owner")), grpc.StatusCode.INVALID_ARGUMENT,
             "customer.owner")):
        with pytest.raises(grpc.RpcError) as exc:
            caller.UpdateCustomer(request)
        assert exc.value.code() == code
        if field:
            assert details_of(exc.value)["fields"] == [field]
    assert written(query) == before
    assert caller.GetCustomer(leads_pb2.GetCustomerRequest(name=customer.name)).grade == "A"


def test_grades_follow_the_settings(as_user, lead_settings):
    lead_settings.set(customer_grades=[leads_pb2.CustomerGrade(grade="S", meaning="strategic"),
                                       leads_pb2.CustomerGrade(grade="A", meaning="key")])
    _, caller = as_user()
    assert new_customer(caller, grade="s").grade == "S"
    with pytest.raises(grpc.RpcError) as exc:
        new_customer(caller, grade="B")
    assert details_of(exc.value)["fields"] == ["customer.grade"]


def test_customers_are_seen_by_owner_managers_and_sales_ops_only(as_user, org, ops):
    department, head_id = org.head()
    owner_id, owner = as_user(org.user(department, roles=("sales_rep",)))
    _, head = as_user(head_id)
    _, stranger = as_user(org.user(roles=("sales_rep",)))
    customer = new_customer(owner)
    for caller in (head, ops[1]):
        assert caller.GetCustomer(leads_pb2.GetCustomerRequest(name=customer.name)).name == customer.name
    for call, request in ((stranger.GetCustomer, leads_pb2.GetCustomerRequest(name=customer.name)),
                          (stranger.ListContacts, leads_pb2.ListContactsRequest(parent=customer.name)),
                          (stranger.UpdateCustomer, leads_pb2.UpdateCustomerRequest(
                              customer=leads_pb2.Customer(name=customer.name, grade="A"), update_mask=mask("grade")))):
        with pytest.raises(grpc.RpcError) as exc:
            call(request)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as exc:
        add_contact(stranger, customer.name)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert stranger.ListCustomers(leads_pb2.ListCustomersRequest()).customers == []
    # Sales ops may grade any customer; a head may hand it to someone below them.
    assert ops[1].UpdateCustomer(leads_pb2.UpdateCustomerRequest(
        customer=leads_pb2.Customer(name=customer.name, grade="A"), update_mask=mask("grade"))).grade == "A"
    successor_id = org.user(department, roles=("sales_rep",))
    moved = head.UpdateCustomer(leads_pb2.UpdateCustomerRequest(
        customer=leads_pb2.Customer(name=customer.name, owner=f"users/{successor_id}"), update_mask=mask("owner")))
    assert moved.owner == f"users/{successor_id}"
    with pytest.raises(grpc.RpcError) as exc:
        owner.GetCustomer(leads_pb2.GetCustomerRequest(name=customer.name))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND and owner_id


def test_contacts_make_the_decision_chain_and_each_change_publishes_it_whole(as_user, query):
    _, caller = as_user()
    customer = new_customer(caller)
    cto = add_contact(caller, customer.name)
    assert (cto.customer, cto.phone, cto.email, cto.etag) == (customer.name, "+8613900139000", "zhou@example.com", "1")
    ceo = add_contact(caller, customer.name, display_name="王总", title="CEO", phone="13800138000", email="",
                      buying_role="decision_maker", attitude="", satisfaction=0)
    changed = caller.UpdateContact(leads_pb2.UpdateContactRequest(
        contact=leads_pb2.Contact(name=ceo.name, attitude="supportive", satisfaction=5),
        update_mask=mask("attitude", "satisfaction"), etag=ceo.etag))
    assert (changed.attitude, changed.satisfaction, changed.etag) == ("supportive", 5, "2")
    # The same values again change nothing: no new version, no event.
    same = caller.UpdateContact(leads_pb2.UpdateContactRequest(
        contact=leads_pb2.Contact(name=ceo.name, attitude="supportive"), update_mask=mask("attitude")))
    assert same.etag == "2"
    events = outbox(query, CHAIN_CHANGED, customer.name)
    assert [e["revision"] for e in events] == ["1", "2", "3"]
    chain = events[-1]["contacts"]
    assert [(c["name"], c.get("buyingRole"), c.get("attitude"), c.get("satisfaction")) for c in chain] == [
        ("周杰", "technical_evaluator", "neutral", 3), ("王总", "decision_maker", "supportive", 5)]
    read = caller.GetCustomer(leads_pb2.GetCustomerRequest(name=customer.name))
    assert read.decision_chain_revision == 3 and [c.contact for c in read.decision_chain] == [cto.name, ceo.name]
    assert list(caller.ListCustomers(leads_pb2.ListCustomersRequest()).customers) == [read]
    listed = caller.ListContacts(leads_pb2.ListContactsRequest(parent=customer.name, page_size=1))
    assert len(listed.contacts) == 1 and listed.next_page_token
    rest = caller.ListContacts(leads_pb2.ListContactsRequest(parent=customer.name, page_token=listed.next_page_token))
    assert {c.name for c in [*listed.contacts, *rest.contacts]} == {cto.name, ceo.name}
    before = written(query)
    for request, code in (
            (leads_pb2.UpdateContactRequest(contact=leads_pb2.Contact(name=ceo.name, attitude="neutral"),
                                            update_mask=mask("attitude"), etag="1"), grpc.StatusCode.ABORTED),
            (leads_pb2.UpdateContactRequest(contact=leads_pb2.Contact(name=ceo.name, attitude="furious"),
                                            update_mask=mask("attitude")), grpc.StatusCode.INVALID_ARGUMENT),
            (leads_pb2.UpdateContactRequest(contact=leads_pb2.Contact(name=f"contacts/{uuid.uuid4()}", title="x"),
                                            update_mask=mask("title")), grpc.StatusCode.NOT_FOUND)):
        with pytest.raises(grpc.RpcError) as exc:
            caller.UpdateContact(request)
        assert exc.value.code() == code
    assert written(query) == before
