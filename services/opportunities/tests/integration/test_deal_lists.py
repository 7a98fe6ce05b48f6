"""ListOpportunities' filter, order_by and search (README, "Lists") against the real database, through the API."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit import company_time
from shangji_kit.rpc.status import details_of


def listed(caller, filter: str = "", order_by: str = "", page_size: int = 2) -> list[str]:
    """Every page of the list, in order."""
    names, token = [], ""
    while True:
        resp = caller.ListOpportunities(opportunities_pb2.ListOpportunitiesRequest(
            filter=filter, order_by=order_by, page_size=page_size, page_token=token))
        names += [o.name for o in resp.opportunities]
        token = resp.next_page_token
        if not token:
            return names


def fails(caller, **fields) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as exc:
        caller.ListOpportunities(opportunities_pb2.ListOpportunitiesRequest(**fields))
    return exc.value


@pytest.fixture
def deals(org, register, execute, own_customer):
    """Five deals of one rep in one department, each set apart by the fields the filters read."""
    dept = org.department()
    owner = org.user(department=dept)
    today = company_time.today(datetime.now(UTC))
    customer = own_customer(owner)
    specs = {
        "hc": dict(customer_company="深圳市华创精密制造有限公司", title="华创 注塑件", region="south", source="expo",
                   amount=500000, close=today + timedelta(days=3)),
        "acme": dict(customer_company="Acme Robotics Ltd", title="Acme arms", region="east", source="web",
                     amount=120000, close=today - timedelta(days=2)),
        "won": dict(customer_company="Beta Tools", title="Beta lathes", region="east", source="web",
                    amount=80000, close=today - timedelta(days=5), won=True),
        "nodate": dict(customer_company="Gamma Plastics", title="Gamma molds", region="north", source="expo",
                       amount=None, close=None),
        "later": dict(customer_company="Delta Motors", title="Delta drives", region="south", source="referral",
                      amount=950000, close=today + timedelta(days=30), customer=customer),
    }
    names = {}
    for key, spec in specs.items():
        name = register(owner)
        execute("UPDATE opportunities SET customer_company = :company, title = :title, region = :region, "
                "source = :source, amount = :amount, expected_close_date = :close, customer_id = :customer, "
                "stage_key = CASE WHEN :won THEN (SELECT s.key FROM pipeline_stages s WHERE s.pipeline_id = "
                "opportunities.pipeline_id AND s.version = opportunities.pipeline_version AND s.category = 'won') "
                "ELSE stage_key END WHERE id = :id",
                company=spec["customer_company"], title=spec["title"], region=spec["region"], source=spec["source"],
                amount=spec["amount"], close=spec["close"], customer=spec.get("customer"), won=spec.get("won", False),
                id=name.split("/")[1])
        names[key] = name
    return {"owner": owner, "dept": dept, "customer": customer, "names": names, "today": today}


def test_each_filter_field_selects_exactly_its_deals(as_user, deals):
    caller, n, today = as_user(deals["owner"]), deals["names"], deals["today"]

    def keys(flt: str) -> set[str]:
        by_name = {v: k for k, v in n.items()}
        return {by_name[x] for x in listed(caller, flt)}

    assert keys('region = "south"') == {"hc", "later"}
    assert keys("region != east") == {"hc", "nodate", "later"}
    assert keys('source = "expo" AND region = "north"') == {"nodate"}
    assert keys('source = "expo" OR source = "referral"') == {"hc", "nodate", "later"}
    assert keys("NOT source = web") == {"hc", "nodate", "later"}
    assert keys("amount >= 100000 AND amount < 600000") == {"hc", "acme"}
    assert keys("state = WON") == {"won"}
    assert keys("state = OPEN") == {"hc", "acme", "nodate", "later"}
    assert keys(f'stage = "{_stage_of(caller, n["won"])}"') == {"won"}
    assert keys(f'expected_close_date >= "{today}" AND expected_close_date <= "{today + timedelta(days=7)}"') == {"hc"}
    assert keys("closing_within_days = 7") == {"hc"}
    assert keys("overdue = true") == {"acme"}  # the won deal's past date is not overdue
    assert keys(f'customer = "customers/{deals["customer"]}"') == {"later"}
    assert keys(f'owner = "users/{deals["owner"]}"') == set(n)
    assert keys(f'owner = "users/{uuid.uuid4()}"') == set()
    assert keys(f'department = "departments/{deals["dept"]}"') == set(n)
    assert keys("pending_arbitration = true") == set()
    assert keys("unassigned = false") == set(n)
    assert keys("registration_state = ACTIVE") == set(n)
    assert keys('update_time >= "2000-01-01T00:00:00Z"') == set(n)
    assert keys(f'update_time >= "{(datetime.now(UTC) + timedelta(days=1)).isoformat()}"') == set()


def _stage_of(caller, name: str) -> str:
    return caller.GetOpportunity(opportunities_pb2.GetOpportunityRequest(name=name)).stage


def test_search_finds_chinese_and_english_names_ranked(as_user, deals, org, register, execute):
    caller, n = as_user(deals["owner"]), deals["names"]
    assert listed(caller, 'search = "华创"') == [n["hc"]]
    assert listed(caller, 'search = "acme"') == [n["acme"]]  # case-insensitive
    assert listed(caller, 'search = "molds"') == [n["nodate"]]  # the title
    # Ranked: the deal named exactly the term comes before one that only contains it.
    exact = register(deals["owner"])
    execute("UPDATE opportunities SET customer_company = 'Delta' WHERE id = :id", id=exact.split("/")[1])
    assert listed(caller, 'search = "Delta"') == [exact, n["later"]]
    # Someone else's deal that matches is never listed.
    stranger = register(org.user())
    execute("UPDATE opportunities SET customer_company = '华创精密' WHERE id = :id", id=stranger.split("/")[1])
    assert listed(caller, 'search = "华创"') == [n["hc"]]


def test_a_manager_filters_by_department_within_what_they_see(as_user, deals, org, register):
    boss = org.user()
    top = org.department(head=boss)
    team = org.department(parent=top)
    rep = org.user(department=team)
    mine = register(rep)
    elsewhere = register(org.user(department=org.department()))
    assert listed(as_user(boss), f'department = "departments/{top}"') == [mine]
    assert elsewhere not in listed(as_user(boss), "")
    assert listed(as_user(boss), f'department = "departments/{deals["dept"]}"') == []  # not theirs to see


@pytest.mark.parametrize("order_by", ["amount desc", "amount", "expected_close_date", "title desc",
                                      "customer_company, create_time desc", "update_time desc"])
def test_pages_are_stable_in_every_ordering(as_user, deals, order_by):
    caller = as_user(deals["owner"])
    one_page = listed(caller, order_by=order_by, page_size=50)
    assert sorted(one_page) == sorted(deals["names"].values())
    assert listed(caller, order_by=order_by, page_size=1) == one_page == listed(caller, order_by=order_by, page_size=2)


def test_amount_orders_with_deals_without_an_amount_last(as_user, deals):
    n = deals["names"]
    assert listed(as_user(deals["owner"]), order_by="amount desc") == [n["later"], n["hc"], n["acme"], n["won"],
                                                                       n["nodate"]]
    assert listed(as_user(deals["owner"]), order_by="amount") == [n["won"], n["acme"], n["hc"], n["later"],
                                                                  n["nodate"]]


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"filter": "colour = red"}, "filter"),
    ({"filter": 'region = "east" AND'}, "filter"),
    ({"filter": "(region = east"}, "filter"),
    ({"filter": "amount >= lots"}, "filter"),
    ({"filter": "region > east"}, "filter"),
    ({"filter": "state = MAYBE"}, "filter"),
    ({"filter": "overdue = yes"}, "filter"),
    ({"filter": 'owner = "users/nobody"'}, "filter"),
    ({"filter": 'expected_close_date < "next week"'}, "filter"),
    ({"filter": 'search = ""'}, "filter"),
    ({"order_by": "owner"}, "order_by"),
    ({"order_by": "amount sideways"}, "order_by"),
    ({"order_by": "amount, amount desc"}, "order_by"),
])
def test_bad_filters_and_orderings_are_invalid_argument_naming_the_field(as_user, request_fields, field):
    exc = fails(as_user(str(uuid.uuid4())), **request_fields)
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc)["fields"] == [field]


def test_a_page_token_is_refused_with_another_order_or_filter(as_user, deals):
    caller = as_user(deals["owner"])
    token = caller.ListOpportunities(opportunities_pb2.ListOpportunitiesRequest(
        page_size=1, order_by="amount desc")).next_page_token
    for other in ({"order_by": "amount"}, {"order_by": "amount desc", "filter": "region = east"}):
        exc = fails(caller, page_size=1, page_token=token, **other)
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc)["fields"] == ["page_token"]
