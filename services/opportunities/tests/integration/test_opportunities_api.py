"""The opportunities front in-process against the session's real opportunities database."""

import uuid

import grpc
import pytest

from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.calls import fails


def test_the_owner_gets_the_deal(as_user, register):
    owner = str(uuid.uuid4())
    name = register(owner)
    deal = as_user(owner).GetOpportunity(opportunities_pb2.GetOpportunityRequest(name=name))
    assert deal.name == name and deal.id == name.split("/")[1]
    assert (deal.owner, deal.registrant) == (f"users/{owner}", f"users/{owner}")
    assert (deal.stage, deal.stage_display_name, deal.etag) == ("discover", "发现机会", "1")
    assert deal.lead.startswith("leads/") and deal.pipeline.startswith("pipelines/")
    assert deal.customer_company.startswith("华东精密机械") and deal.create_time.seconds > 0


def test_someone_else_gets_not_found_exactly_as_for_a_missing_deal(as_user, register):
    name = register(str(uuid.uuid4()))
    stranger = as_user(str(uuid.uuid4()))
    hidden = fails(stranger.GetOpportunity, opportunities_pb2.GetOpportunityRequest(name=name))
    missing_name = f"opportunities/{uuid.uuid4()}"
    missing = fails(stranger.GetOpportunity, opportunities_pb2.GetOpportunityRequest(name=missing_name))
    assert hidden.code() == missing.code() == grpc.StatusCode.NOT_FOUND
    assert details_of(hidden)["reason"] == details_of(missing)["reason"] == "NOT_FOUND"
    assert hidden.details() == missing.details().replace(missing_name, name)


def test_a_bad_name_is_invalid_argument_naming_the_field(as_user):
    caller = as_user(str(uuid.uuid4()))
    for bad in ("", "leads/1", f"opportunities/{uuid.uuid4()}x"):
        exc = fails(caller.GetOpportunity, opportunities_pb2.GetOpportunityRequest(name=bad))
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert details_of(exc)["fields"] == ["name"]


def test_list_pages_through_the_callers_deals_newest_first(as_user, register):
    owner = str(uuid.uuid4())
    created = [register(owner) for _ in range(5)]
    register(str(uuid.uuid4()))  # someone else's: never listed
    caller = as_user(owner)
    pages, token = [], ""
    while True:
        resp = caller.ListOpportunities(opportunities_pb2.ListOpportunitiesRequest(page_size=2, page_token=token))
        pages.append([o.name for o in resp.opportunities])
        token = resp.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [n for p in pages for n in p] == list(reversed(created))


def test_list_defaults_to_all_of_a_small_collection(as_user, register):
    owner = str(uuid.uuid4())
    created = [register(owner) for _ in range(3)]
    resp = as_user(owner).ListOpportunities(opportunities_pb2.ListOpportunitiesRequest())
    assert [o.name for o in resp.opportunities] == list(reversed(created)) and resp.next_page_token == ""
    assert not as_user(str(uuid.uuid4())).ListOpportunities(opportunities_pb2.ListOpportunitiesRequest()).opportunities


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"page_size": -1}, "page_size"),
    ({"page_token": "not-a-token"}, "page_token"),
    ({"page_token": "bm90fGEtdG9rZW4="}, "page_token"),  # base64 of "not|a-token"
])
def test_bad_paging_is_invalid_argument_naming_the_field(as_user, request_fields, field):
    caller = as_user(str(uuid.uuid4()))
    exc = fails(caller.ListOpportunities, opportunities_pb2.ListOpportunitiesRequest(**request_fields))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc)["fields"] == [field]
