"""The front's limits on real services: bad input is INVALID_ARGUMENT naming every bad field, written
nowhere; a huge value cannot push the status past gRPC's header limit."""

from __future__ import annotations

import uuid

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
from shangji.opportunities.v1 import opportunities_pb2 as opp
from shangji.opportunities.v1 import opportunities_pb2_grpc
from shangji_kit.rpc.client import Caller
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing.processes import running_front


@pytest.fixture(scope="module")
def channels(shangji_env):
    from leads.entrypoints import grpc_api as leads_api
    from opportunities.entrypoints import grpc_api as opportunities_api

    with running_front("leads", leads_api.register) as leads, \
            running_front("opportunities", opportunities_api.register) as opportunities:
        chans = {name: grpc.insecure_channel(f"127.0.0.1:{f.bound_port}")
                 for name, f in (("leads", leads), ("opportunities", opportunities))}
        yield chans
        for ch in chans.values():
            ch.close()


def rows(service: str, table: str) -> int:
    engine = sa.create_engine(Settings.for_service(service).database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        n = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


def refused(call, request) -> tuple[grpc.StatusCode, list[str]]:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    return exc.value.code(), details_of(exc.value)["fields"]


def test_every_bad_field_of_a_lead_is_named_and_nothing_is_written(channels, token_for):
    leads = Caller(leads_pb2_grpc.LeadsServiceStub(channels["leads"]), token_for(str(uuid.uuid4())))
    before = (rows("leads", "leads"), rows("leads", "outbox"))
    code, fields = refused(leads.CreateLead, leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company="华东\x00精密", contact_name="王伟", phone="1" * 1_000_000, notes="备注" * 12_000,
        email="wang@example.com"), request_id="x" * 20_001))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert fields == ["lead.company", "lead.phone", "lead.notes", "request_id"]
    assert (rows("leads", "leads"), rows("leads", "outbox")) == before
    # Within the limits the same call is served.
    created = leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company="华东精密", contact_name="王伟", phone="13800138000", notes="备注")))
    assert created.company == "华东精密"


def test_timestamps_that_are_no_time_at_all_are_refused_before_the_service(channels, token_for):
    leads = Caller(leads_pb2_grpc.LeadsServiceStub(channels["leads"]), token_for(str(uuid.uuid4())))
    for seconds in (-(2**40) - 1, 2**40 + 1):
        code, fields = refused(leads.RecordLeadBehaviour, leads_pb2.RecordLeadBehaviourRequest(
            name=f"leads/{uuid.uuid4()}", type="visit", occur_time=Timestamp(seconds=seconds)))
        assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["occur_time"])


def test_a_nul_or_a_huge_decimal_string_names_each_quote_line(channels, token_for):
    deals = Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(channels["opportunities"]),
                   token_for(str(uuid.uuid4())))
    before = rows("opportunities", "opportunities")
    code, fields = refused(deals.RegisterOpportunity, opp.RegisterOpportunityRequest(opportunity=opp.Opportunity(
        customer_company="华东精密", product_lines=["cnc"], amount="9" * 100_000,
        quote_lines=[opp.QuoteLine(product="p", quantity="1", unit_price="1"),
                     opp.QuoteLine(product="p", quantity="1\x00", unit_price="9" * 65)])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert fields == ["opportunity.amount", "opportunity.quote_lines[1].quantity",
                      "opportunity.quote_lines[1].unit_price"]
    assert rows("opportunities", "opportunities") == before


def test_a_6000_character_value_is_invalid_argument_not_resource_exhausted(channels, token_for):
    deals = Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(channels["opportunities"]),
                   token_for(str(uuid.uuid4())))
    code, fields = refused(deals.RegisterOpportunity, opp.RegisterOpportunityRequest(opportunity=opp.Opportunity(
        customer_company="客" * 6000, title="标" * 6000, product_lines=["线" * 6000] * 30)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert fields[:2] == ["opportunity.title", "opportunity.customer_company"]


def test_bytes_that_are_no_request_are_invalid_argument_not_internal(channels, token_for):
    call = channels["leads"].unary_unary("/shangji.leads.v1.LeadsService/GetLead")
    md = [("authorization", f"Bearer {token_for(str(uuid.uuid4()))}")]
    for garbage in (b"\x0a\x02\xff\xfe", b"\xff\xff\xff\xff", b"\x0a\x10abc"):
        with pytest.raises(grpc.RpcError) as exc:
            call(garbage, metadata=md, timeout=10)
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, garbage
        assert details_of(exc.value)["fields"] == ["request"]
