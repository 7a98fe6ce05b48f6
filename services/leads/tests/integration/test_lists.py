"""ListLeads' and ListCustomers' filter, order_by and search (README, "Lists") through the API, on the real database."""

import uuid

import grpc
import pytest
import sqlalchemy as sa

from shangji.leads.v1 import leads_pb2
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings


def execute(sql: str, **params) -> None:
    engine = sa.create_engine(Settings.for_service("leads").database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


def all_pages(call, request_type, field: str, page_size: int = 2, **fields) -> list[str]:
    names, token = [], ""
    while True:
        resp = call(request_type(page_size=page_size, page_token=token, **fields))
        names += [x.name for x in getattr(resp, field)]
        token = resp.next_page_token
        if not token:
            return names


def leads_of(caller, filter: str = "", order_by: str = "", page_size: int = 2) -> list[str]:
    return all_pages(caller.ListLeads, leads_pb2.ListLeadsRequest, "leads", page_size, filter=filter,
                     order_by=order_by)


def customers_of(caller, filter: str = "", order_by: str = "", page_size: int = 2) -> list[str]:
    return all_pages(caller.ListCustomers, leads_pb2.ListCustomersRequest, "customers", page_size, filter=filter,
                     order_by=order_by)


@pytest.fixture
def rep(org, as_user):
    dept = org.department()
    user_id, caller = as_user(org.user(dept, roles=("sales_rep",)))
    return {"id": user_id, "caller": caller, "dept": dept}


@pytest.fixture
def leads(rep):
    specs = {
        "hc": dict(company="深圳市华创精密制造有限公司", contact_name="王伟", region="华南", source="expo",
                   industry="制造"),
        "acme": dict(company="Acme Robotics", contact_name="John Smith", region="east", source="web",
                     industry="robotics", notes="wants a demo of the welding arm"),
        "beta": dict(company="Beta Tools", contact_name="Li Na", region="east", source="expo", industry="tools"),
    }
    out = {}
    for key, spec in specs.items():
        lead = rep["caller"].CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
            phone=f"1390013{uuid.uuid4().int % 10000:04d}", **spec)))
        out[key] = lead.name
    execute("UPDATE leads SET score = 70 WHERE id = :id", id=out["beta"].split("/")[1])
    execute("UPDATE leads SET score = 40 WHERE id = :id", id=out["acme"].split("/")[1])
    return out


def test_lead_filters_select_exactly_their_leads(rep, leads):
    caller = rep["caller"]
    by_name = {v: k for k, v in leads.items()}

    def keys(flt: str) -> set[str]:
        return {by_name[n] for n in leads_of(caller, flt)}

    assert keys('region = "east"') == {"acme", "beta"}
    assert keys('source = expo AND region != east') == {"hc"}
    assert keys("industry = robotics OR industry = tools") == {"acme", "beta"}
    assert keys("score >= 50") == {"beta"}
    assert keys("state = OPEN") == set(leads) and keys("state = CONVERTED") == set()
    assert keys(f'owner = "users/{rep["id"]}"') == set(leads)
    assert keys(f'department = "departments/{rep["dept"]}"') == set(leads)
    assert keys('update_time >= "2000-01-01T00:00:00Z"') == set(leads)
    assert keys(f'campaign = "campaigns/{uuid.uuid4()}"') == set()
    assert keys("unassigned = true") == set()  # held leads; the pool is in_pool


def test_lead_search_in_chinese_english_and_notes(rep, leads, org, as_user):
    caller = rep["caller"]
    assert leads_of(caller, 'search = "华创"') == [leads["hc"]]
    assert leads_of(caller, 'search = "smith"') == [leads["acme"]]  # the contact, any case
    assert leads_of(caller, 'search = "welding"') == [leads["acme"]]  # the notes
    _, stranger = as_user(org.user(roles=("sales_rep",)))
    stranger.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(company="华创科技", contact_name="张三",
                                                                                    email="z@example.com")))
    assert leads_of(caller, 'search = "华创"') == [leads["hc"]]  # never someone else's


def test_lead_orderings_page_stably(rep, leads):
    caller = rep["caller"]
    assert leads_of(caller, order_by="score desc") == [leads["beta"], leads["acme"], leads["hc"]]
    for order_by in ("company", "company desc", "update_time", "last_follow_up_time desc", "create_time"):
        whole = leads_of(caller, order_by=order_by, page_size=50)
        assert sorted(whole) == sorted(leads.values())
        assert leads_of(caller, order_by=order_by, page_size=1) == whole


def test_customer_filters_search_and_order(as_user, org):
    dept = org.department()
    owner, caller = as_user(org.user(dept, roles=("sales_rep",)))
    tag = uuid.uuid4().hex[:6]
    made = {}
    for key, name, region, grade in (("hc", f"深圳市华创精密{tag}有限公司", "华南", "a"),
                                     ("acme", f"Acme {tag} Robotics", "east", "b"),
                                     ("beta", f"Beta {tag} Tools", "east", "a")):
        made[key] = caller.CreateCustomer(leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(
            display_name=name, region=region, grade=grade, industry="制造"))).name
    caller.CreateContact(leads_pb2.CreateContactRequest(parent=made["beta"], contact=leads_pb2.Contact(
        display_name="Grace Hopper", title="CTO", email="grace@example.com")))
    by_name = {v: k for k, v in made.items()}

    def keys(flt: str) -> set[str]:
        return {by_name[n] for n in customers_of(caller, flt)}

    assert keys('region = "east"') == {"acme", "beta"}
    assert keys("grade = a") == {"hc", "beta"}
    assert keys(f'owner = "users/{owner}" AND department = "departments/{dept}"') == set(made)
    assert keys('search = "华创"') == {"hc"}
    assert keys('search = "hopper"') == {"beta"}  # a contact of the customer
    assert customers_of(caller, order_by="display_name") == [made["acme"], made["beta"], made["hc"]]
    assert customers_of(caller, order_by="display_name desc", page_size=1) == [made["hc"], made["beta"],
                                                                               made["acme"]]


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"filter": "colour = red"}, "filter"),
    ({"filter": "region = "}, "filter"),
    ({"filter": "score >= high"}, "filter"),
    ({"filter": "state = LOST"}, "filter"),
    ({"order_by": "phone"}, "order_by"),
    ({"order_by": "score sideways"}, "order_by"),
])
def test_bad_lead_and_customer_lists_are_invalid_argument_naming_the_field(as_user, request_fields, field):
    _, caller = as_user()
    for call, request_type in ((caller.ListLeads, leads_pb2.ListLeadsRequest),
                               (caller.ListCustomers, leads_pb2.ListCustomersRequest)):
        with pytest.raises(grpc.RpcError) as exc:
            call(request_type(**request_fields))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert details_of(exc.value)["fields"] == [field]
