"""ListSampleRequests' filter, order_by and search (README, "Lists") through the API, on the real database."""

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from shangji.samples.v1 import samples_pb2 as pb
from shangji_kit import company_time
from shangji_kit.rpc.status import details_of


def listed(world, user: str, filter: str = "", order_by: str = "", page_size: int = 2) -> list[str]:
    names, token = [], ""
    while True:
        resp = world.sam(user).ListSampleRequests(pb.ListSampleRequestsRequest(
            filter=filter, order_by=order_by, page_size=page_size, page_token=token))
        names += [r.name for r in resp.sample_requests]
        token = resp.next_page_token
        if not token:
            return names


@pytest.fixture
def made(world):
    today = company_time.today(datetime.now(UTC))
    pump = world.create(None, ("PUMP", 1), purpose="注塑机试用", recipient_name="王工",
                        wanted_by_date=(today + timedelta(days=3)).isoformat())
    valves = world.create(None, ("VALVE", 3), purpose="pressure test", recipient_name="John Smith",
                          kind=pb.SampleRequest.POC, wanted_by_date=(today + timedelta(days=20)).isoformat())
    plain = world.create(None, ("PUMP", 2), purpose="spare", recipient_name="李四")
    approved = world.approve(pump, world.manager)
    return {"pump": pump.name, "valves": valves.name, "plain": plain.name, "pump_state": approved.state}


def test_filters_search_and_orders(world, made):
    by_name = {v: k for k, v in made.items() if k != "pump_state"}

    def keys(flt: str, user: str | None = None) -> set[str]:
        return {by_name[n] for n in listed(world, user or world.rep, flt)}

    assert keys("kind = POC") == {"valves"}
    assert keys("estimated_cost >= 1000") == {"valves"}
    assert keys(f'requester = "users/{world.rep}"') == {"pump", "valves", "plain"}
    assert keys(f'department = "departments/{world.team}"', world.manager) == {"pump", "valves", "plain"}
    assert keys(f'department = "departments/{world.company}"', world.peer) == set()  # not theirs to see
    assert keys('search = "注塑"') == {"pump"}
    assert keys('search = "smith"') == {"valves"}
    assert keys("overdue = true") == set()
    assert keys(f'wanted_by_date < "{company_time.today(datetime.now(UTC)) + timedelta(days=10)}"') == {"pump"}
    state = pb.SampleRequest.State.Name(made["pump_state"])
    assert "pump" in keys(f"state = {state}") and "valves" not in keys(f"state = {state}")
    assert listed(world, world.rep, order_by="estimated_cost desc") == [made["valves"], made["plain"], made["pump"]]
    assert listed(world, world.rep, order_by="wanted_by_date", page_size=1) == [made["pump"], made["valves"],
                                                                                made["plain"]]


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"filter": "colour = red"}, "filter"),
    ({"filter": "state = LOST"}, "filter"),
    ({"filter": "estimated_cost > cheap"}, "filter"),
    ({"order_by": "purpose"}, "order_by"),
])
def test_bad_filters_are_invalid_argument_naming_the_field(world, request_fields, field):
    with pytest.raises(grpc.RpcError) as exc:
        world.sam(world.rep).ListSampleRequests(pb.ListSampleRequestsRequest(**request_fields))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc.value)["fields"] == [field]
