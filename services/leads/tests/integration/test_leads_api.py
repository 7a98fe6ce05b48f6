"""The leads front in-process against the session's real leads database (fixtures in conftest.py)."""

import threading
import uuid

import grpc
import pytest

from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.service_db import ServiceDb

CREATED = "shangji.leads.v1.LeadCreated"
CONVERTED = "shangji.leads.v1.LeadConverted"


@pytest.fixture
def leads(as_user):
    return as_user()[1]


DB = ServiceDb("leads")
scalar = DB.scalar
count = DB.count


def events(event_type: str, subject: str) -> list[dict]:
    return [r.data for r in DB.rows("SELECT data FROM outbox WHERE type = :t AND subject = :s ORDER BY position",
                                    t=event_type, s=subject)]


def new_lead(**kw) -> leads_pb2.Lead:
    fields = {"company": "  Suzhou  Silk Works ", "contact_name": "Zhou Jie", "phone": "139 0013 9000",
              "email": "Zhou.Jie@Example.com", "region": "Jiangsu", "source": "website"}
    fields.update(kw)
    return leads_pb2.Lead(**fields)


def create(leads, **kw) -> leads_pb2.Lead:
    return leads.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead(**kw)))


def test_create_then_get_with_normalised_contact_and_an_event_in_the_outbox(as_user):
    user_id, leads = as_user()
    before = count("outbox")
    created = create(leads)
    assert created.name == f"leads/{created.id}" and created.owner == f"users/{user_id}"
    assert (created.company, created.phone, created.email) == ("Suzhou Silk Works", "+8613900139000",
                                                               "zhou.jie@example.com")
    assert created.state == leads_pb2.Lead.State.OPEN and not created.HasField("convert_time")
    assert created.etag == "1"
    assert leads.GetLead(leads_pb2.GetLeadRequest(name=created.name)) == created
    assert count("outbox") == before + 1
    [data] = events(CREATED, created.name)
    assert data["lead"]["name"] == created.name


def test_retry_with_the_same_request_id_returns_the_first_lead_and_writes_nothing(leads):
    req = leads_pb2.CreateLeadRequest(lead=new_lead(), request_id=str(uuid.uuid4()))
    first = leads.CreateLead(req)
    before = (count("leads"), count("outbox"))
    again = leads.CreateLead(req)
    assert again == first
    assert (count("leads"), count("outbox")) == before


def test_another_caller_reusing_a_request_id_learns_nothing_of_the_first_lead(as_user):
    _, alice = as_user()
    _, mallory = as_user()
    request_id = str(uuid.uuid4())
    first = alice.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead(), request_id=request_id))
    before = (count("leads"), count("outbox"))
    with pytest.raises(grpc.RpcError) as exc:
        mallory.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead(), request_id=request_id))
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert first.company not in exc.value.details() and first.name not in exc.value.details()
    assert (count("leads"), count("outbox")) == before
    assert alice.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead(), request_id=request_id)) == first


def test_an_explicit_owner_owns_the_lead(as_user, org):
    department, manager_id = org.head()
    owner_id, owner = as_user(org.user(department))
    _, manager = as_user(manager_id)
    created = create(manager, owner=f"users/{owner_id}")
    assert created.owner == f"users/{owner_id}"
    assert owner.GetLead(leads_pb2.GetLeadRequest(name=created.name)) == created


def test_invalid_fields_are_all_named_and_nothing_is_written(leads):
    before = (count("leads"), count("outbox"))
    with pytest.raises(grpc.RpcError) as exc:
        create(leads, company="   ", phone="12345")
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc.value)["fields"] == ["lead.company", "lead.phone"]
    with pytest.raises(grpc.RpcError) as exc:
        create(leads, contact_name="", owner="people/1")
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc.value)["fields"] == ["lead.contact_name", "lead.owner"]
    assert (count("leads"), count("outbox")) == before


def test_unknown_lead_is_not_found_and_a_bad_name_is_invalid(leads):
    with pytest.raises(grpc.RpcError) as exc:
        leads.GetLead(leads_pb2.GetLeadRequest(name=f"leads/{uuid.uuid4()}"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as exc:
        leads.GetLead(leads_pb2.GetLeadRequest(name="users/1"))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc.value)["fields"] == ["name"]


def test_another_users_lead_is_not_found_exactly_like_a_missing_one(as_user):
    _, owner = as_user()
    _, stranger = as_user()
    created = create(owner)
    missing = f"leads/{uuid.uuid4()}"
    answers = []
    for name in (created.name, missing):
        with pytest.raises(grpc.RpcError) as exc:
            stranger.GetLead(leads_pb2.GetLeadRequest(name=name))
        answers.append((exc.value.code(), details_of(exc.value)["reason"], exc.value.details().replace(name, "")))
    assert answers[0] == answers[1] and answers[0][0] == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as exc:
        stranger.ConvertLead(leads_pb2.ConvertLeadRequest(name=created.name))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert events(CONVERTED, created.name) == []


def test_convert_closes_the_lead_and_writes_one_event_with_what_opportunities_needs(as_user):
    user_id, leads = as_user()
    created = create(leads)
    converted = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=created.name, etag=created.etag,
                                                               opportunity_title="Silk order 2027"))
    assert converted.state == leads_pb2.Lead.State.CONVERTED and converted.HasField("convert_time")
    assert converted.etag == "2"
    assert leads.GetLead(leads_pb2.GetLeadRequest(name=created.name)) == converted
    assert scalar("SELECT state FROM leads WHERE id = :id", id=created.id) == "CONVERTED"
    [data] = events(CONVERTED, created.name)
    lead = data["lead"]
    assert (lead["owner"], lead["company"], lead["contactName"], lead["phone"], lead["email"], lead["region"],
            lead["source"]) == (f"users/{user_id}", "Suzhou Silk Works", "Zhou Jie", "+8613900139000",
                                "zhou.jie@example.com", "Jiangsu", "website")
    assert lead["state"] == "CONVERTED"
    assert data["convertedBy"] == f"users/{user_id}"
    assert data["opportunityTitle"] == "Silk order 2027"
    assert data["convertTime"] and lead["convertTime"] == data["convertTime"]


def test_converting_twice_is_a_failed_precondition(leads):
    created = create(leads)
    converted = leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=created.name))
    assert events(CONVERTED, created.name)[0]["opportunityTitle"] == "Suzhou Silk Works"
    with pytest.raises(grpc.RpcError) as exc:
        leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=created.name, etag=converted.etag))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details_of(exc.value)["reason"] == "LEAD_ALREADY_CONVERTED"
    assert len(events(CONVERTED, created.name)) == 1


def test_a_stale_etag_is_aborted_and_changes_nothing(leads):
    created = create(leads)
    with pytest.raises(grpc.RpcError) as exc:
        leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=created.name, etag="41"))
    assert exc.value.code() == grpc.StatusCode.ABORTED
    assert details_of(exc.value)["reason"] == "ETAG_MISMATCH"
    assert leads.GetLead(leads_pb2.GetLeadRequest(name=created.name)) == created
    assert events(CONVERTED, created.name) == []


def race_to_convert(leads, name: str, etag: str) -> list:
    """Two ConvertLead calls released together; each outcome is a Lead or a status code."""
    barrier = threading.Barrier(2)
    outcomes: list = []

    def convert():
        barrier.wait()
        try:
            outcomes.append(leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=name, etag=etag)))
        except grpc.RpcError as exc:
            outcomes.append(exc.code())

    threads = [threading.Thread(target=convert) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.parametrize("etag", ["1", ""])
def test_concurrent_conversions_let_exactly_one_win(leads, etag):
    for _ in range(5):
        created = create(leads)
        outcomes = race_to_convert(leads, created.name, etag)
        wins = [o for o in outcomes if isinstance(o, leads_pb2.Lead)]
        losses = [o for o in outcomes if not isinstance(o, leads_pb2.Lead)]
        assert len(wins) == 1 and wins[0].state == leads_pb2.Lead.State.CONVERTED
        assert len(losses) == 1
        assert losses[0] in (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION)
        assert len(events(CONVERTED, created.name)) == 1
        assert scalar("SELECT version FROM leads WHERE id = :id", id=created.id) == 2


def test_calls_without_a_valid_token_are_unauthenticated(front, channel, token_for):
    stub = leads_pb2_grpc.LeadsServiceStub(channel)
    req = leads_pb2.GetLeadRequest(name=f"leads/{uuid.uuid4()}")
    for md in ([], [("authorization", "Bearer not-a-jwt")], [("authorization", f"Basic {token_for('x')}")]):
        with pytest.raises(grpc.RpcError) as exc:
            stub.GetLead(req, metadata=md, timeout=5)
        assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_token_whose_subject_is_not_a_user_id_cannot_create(as_user):
    _, leads = as_user("not-a-uuid")
    before = count("leads")
    with pytest.raises(grpc.RpcError) as exc:
        create(leads)
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert details_of(exc.value)["reason"] == "INVALID_SUBJECT"
    assert count("leads") == before
