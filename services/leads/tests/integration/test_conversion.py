"""ConvertLead into a customer: new or joined, with the lead's contact in the decision chain, and a deal
unless the caller asks for the customer only; qualification gates (fixtures in conftest.py)."""

import uuid

import grpc
import pytest

from shangji.leads.v1 import leads_pb2
from shangji_kit.rpc.status import details_of

CONVERTED = "shangji.leads.v1.LeadConverted"
CUSTOMER_CREATED = "shangji.leads.v1.CustomerCreated"
CHAIN_CHANGED = "shangji.leads.v1.CustomerDecisionChainChanged"


def outbox(query, event_type: str, subject: str) -> list[dict]:
    return [r[0] for r in query("SELECT data FROM outbox WHERE type = :t AND subject = :s ORDER BY position",
                                t=event_type, s=subject)]


def count(query, table: str) -> int:
    return query(f"SELECT count(*) FROM {table}")[0][0]


def capture(leads, company: str | None = None, **kw) -> leads_pb2.Lead:
    fields = {"company": company or f"星海精工{uuid.uuid4().hex[:6]}有限公司", "contact_name": "陈工",
              "phone": f"139{uuid.uuid4().int % 10**8:08d}", "email": "", "region": "华东", "source": "展会",
              "industry": "制造", "contact_title": "采购经理", "company_size": "200-999"}
    fields.update(kw)
    return leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(**fields)))


def test_conversion_makes_a_customer_with_the_contact_and_one_event_carrying_the_chain(as_user, query):
    user_id, leads = as_user()
    lead = capture(leads)
    converted = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, etag=lead.etag,
                                                               opportunity_title="产线改造"))
    assert converted.state == leads_pb2.Lead.State.CONVERTED and converted.customer.startswith("customers/")
    customer = leads.GetCustomer(leads_pb2.GetCustomerRequest(name=converted.customer))
    assert (customer.display_name, customer.region, customer.industry, customer.size, customer.owner) == (
        lead.company, "华东", "制造", "200-999", f"users/{user_id}")
    [contact] = customer.decision_chain
    assert (contact.name, contact.title, contact.phone) == ("陈工", "采购经理", lead.phone)
    assert customer.decision_chain_revision == 1
    [event] = outbox(query, CONVERTED, lead.name)
    assert event["customer"] == customer.name and event["opportunityTitle"] == "产线改造"
    assert "withoutOpportunity" not in event
    assert [c["contact"] for c in event["decisionChain"]] == [contact.contact]
    assert event["decisionChain"][0]["phone"] == lead.phone
    [created] = outbox(query, CUSTOMER_CREATED, customer.name)
    assert created["lead"] == lead.name
    # The new customer is written once, with the revision its first contact took (no insert then update).
    assert created["customer"]["decisionChainRevision"] == "1"
    assert query("SELECT chain_revision FROM customers WHERE id = :i", i=customer.id)[0][0] == 1
    [chain] = outbox(query, CHAIN_CHANGED, customer.name)
    assert chain["revision"] == "1" and [c["contact"] for c in chain["contacts"]] == [contact.contact]
    listed = leads.ListContacts(leads_pb2.ListContactsRequest(parent=customer.name))
    assert [c.name for c in listed.contacts] == [contact.contact] and listed.contacts[0].lead == lead.name


def test_the_same_company_in_the_region_joins_the_existing_customer(as_user, query):
    _, leads = as_user()
    first = capture(leads, company="深圳华创精密制造有限公司", region="华南")
    customer_name = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=first.name)).customer
    # Written differently (suffix, spacing, case): the same company once folded.
    second = capture(leads, company="深圳 华创精密制造 股份有限公司", region=" 华南 ", contact_name="刘总",
                     contact_title="总经理")
    before = count(query, "customers")
    converted = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=second.name))
    assert converted.customer == customer_name and count(query, "customers") == before
    customer = leads.GetCustomer(leads_pb2.GetCustomerRequest(name=customer_name))
    assert [c.name for c in customer.decision_chain] == ["陈工", "刘总"]
    assert customer.decision_chain_revision == 2
    [event] = outbox(query, CONVERTED, second.name)
    assert [c["name"] for c in event["decisionChain"]] == ["陈工", "刘总"]
    revisions = [e["revision"] for e in outbox(query, CHAIN_CHANGED, customer_name)]
    assert revisions == ["1", "2"]
    # The same person again (same phone) joins without a second contact and without a chain change.
    third = capture(leads, company="深圳华创精密制造", region="华南", phone=second.phone, contact_name="刘总")
    leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=third.name))
    assert len(leads.GetCustomer(leads_pb2.GetCustomerRequest(name=customer_name)).decision_chain) == 2
    assert len(outbox(query, CHAIN_CHANGED, customer_name)) == 2


def test_the_same_company_in_another_region_is_another_customer(as_user):
    _, leads = as_user()
    company = f"远航物流{uuid.uuid4().hex[:4]}有限公司"
    north = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=capture(leads, company, region="华北").name))
    south = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=capture(leads, company, region="华南").name))
    assert north.customer != south.customer


def test_a_named_customer_is_joined_and_customer_only_registers_no_deal(as_user, query):
    _, leads = as_user()
    customer = leads.CreateCustomer(leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(
        display_name="集团总部有限公司", region="华东")))
    lead = capture(leads, company="集团华东分公司")
    converted = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, customer=customer.name,
                                                               without_opportunity=True))
    assert converted.customer == customer.name
    [event] = outbox(query, CONVERTED, lead.name)
    assert event["withoutOpportunity"] is True and event["customer"] == customer.name
    assert [c["name"] for c in event["decisionChain"]] == ["陈工"]


def test_a_customer_the_caller_cannot_see_or_a_bad_name_converts_nothing(as_user, query):
    _, leads = as_user()
    _, stranger = as_user()
    hidden = stranger.CreateCustomer(leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(
        display_name=f"别人的客户{uuid.uuid4().hex[:4]}")))
    lead = capture(leads)
    before = (count(query, "customers"), count(query, "contacts"), count(query, "outbox"))
    with pytest.raises(grpc.RpcError) as exc:
        leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, customer=hidden.name))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as exc:
        leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, customer="accounts/1"))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc.value)["fields"] == ["customer"]
    assert (count(query, "customers"), count(query, "contacts"), count(query, "outbox")) == before
    assert leads.GetLead(leads_pb2.GetLeadRequest(name=lead.name)).state == leads_pb2.Lead.State.OPEN


def test_when_the_settings_require_sql_an_unqualified_lead_needs_a_managers_force(as_user, org, lead_settings, query):
    lead_settings.set(convert_requires="SQL")
    department, manager_id = org.head()
    rep_id, rep = as_user(org.user(department, roles=("sales_rep",)))
    _, manager = as_user(manager_id)
    lead = capture(rep)
    assert lead.qualification == leads_pb2.Lead.Qualification.UNQUALIFIED
    before = (count(query, "customers"), count(query, "outbox"))
    with pytest.raises(grpc.RpcError) as exc:
        rep.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details_of(exc.value)["reason"] == "LEAD_NOT_QUALIFIED"
    with pytest.raises(grpc.RpcError) as exc:
        rep.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, force=True))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert details_of(exc.value)["reason"] == "FORCE_NEEDS_MANAGER"
    assert (count(query, "customers"), count(query, "outbox")) == before
    converted = manager.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, force=True))
    assert converted.state == leads_pb2.Lead.State.CONVERTED
    assert len(outbox(query, CONVERTED, lead.name)) == 1


def test_a_sql_lead_converts_without_force_when_sql_is_required(as_user, lead_settings):
    lead_settings.set(convert_requires="SQL", mql_threshold=10, sql_threshold=20, sql_requires=["phone", "flag:budget"],
                      scoring_rules=[leads_pb2.ScoringRule(field="industry", values=["制造"], points=20)])
    _, leads = as_user()
    lead = capture(leads, flags=["budget"])
    assert lead.qualification == leads_pb2.Lead.Qualification.SQL and lead.score == 20
    assert leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name)).state == leads_pb2.Lead.State.CONVERTED


def test_two_conversions_of_one_new_company_at_once_make_one_customer(as_user, query):
    import threading

    _, leads = as_user()
    company = f"并发制造{uuid.uuid4().hex[:6]}有限公司"
    pair = [capture(leads, company, contact_name=name) for name in ("甲", "乙")]
    before = count(query, "customers")
    barrier = threading.Barrier(2)
    results: list = []

    def convert(lead):
        barrier.wait()
        results.append(leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name)).customer)

    threads = [threading.Thread(target=convert, args=(lead,)) for lead in pair]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    assert count(query, "customers") == before + 1
    customer = leads.GetCustomer(leads_pb2.GetCustomerRequest(name=results[0]))
    assert sorted(c.name for c in customer.decision_chain) == ["乙", "甲"] and customer.decision_chain_revision == 2


def test_product_lines_travel_on_the_event_trimmed_and_once_each(as_user, query):
    _, leads = as_user()
    lead = capture(leads)
    leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, product_lines=[" ERP ", "MES", "ERP", " "]))
    [event] = outbox(query, CONVERTED, lead.name)
    assert event["productLines"] == ["ERP", "MES"]
    other = capture(leads)
    leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=other.name))  # none: the deal holds no product line
    [event] = outbox(query, CONVERTED, other.name)
    assert "productLines" not in event


@pytest.mark.parametrize(("fields", "bad"), [
    ({"product_lines": [" ", ""]}, ["product_lines"]),
    ({"product_lines": ["ERP"], "without_opportunity": True}, ["product_lines"]),
    ({"product_lines": ["ERP\x00"]}, ["product_lines[0]"]),
    ({"product_lines": ["x" * 1001]}, ["product_lines[0]"]),
    ({"product_lines": ["ERP"] * 1001}, ["product_lines"]),
])
def test_bad_product_lines_convert_nothing(as_user, query, fields, bad):
    _, leads = as_user()
    lead = capture(leads)
    before = (count(query, "customers"), count(query, "contacts"), count(query, "outbox"))
    with pytest.raises(grpc.RpcError) as exc:
        leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, **fields))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc.value)["fields"] == bad
    assert (count(query, "customers"), count(query, "contacts"), count(query, "outbox")) == before
    assert leads.GetLead(leads_pb2.GetLeadRequest(name=lead.name)).state == leads_pb2.Lead.State.OPEN
