"""OwnershipTransferred: the worker moves a person's open leads to their successor and records it."""

import uuid
from datetime import UTC, datetime

import grpc
import pytest

from shangji.leads.v1 import leads_pb2
from shangji_kit.errors import InvalidArgument

TRANSFER_TIME = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def create(leads) -> leads_pb2.Lead:
    # A company and phone of its own, so no other test's lead makes it a flagged duplicate.
    unique = uuid.uuid4().int
    return leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"华东精密机械{unique % 10**6:06d}有限公司", contact_name="王经理", phone=f"138 {unique % 10**8:08d}")))


@pytest.fixture
def departing(as_user):
    """A salesperson leaving with two open leads and one converted; a colleague's lead beside them."""
    leaver_id, leaver = as_user()
    _, colleague = as_user()
    open_leads = [create(leaver), create(leaver)]
    converted = leaver.ConvertLead(leads_pb2.ConvertLeadRequest(name=create(leaver).name))
    return leaver_id, leaver, open_leads, converted, create(colleague)


def owners(query, *leads) -> list[tuple]:
    return [tuple(query("SELECT owner_id::text, version FROM leads WHERE id = :id", id=lead.id)[0]) for lead in leads]


def test_open_leads_go_to_the_successor_and_each_move_is_recorded(worker, teams, query, as_user, departing):
    leaver_id, leaver, open_leads, converted, colleagues = departing
    successor_id, successor = as_user()
    transfer_id = str(uuid.uuid4())
    started = datetime.now(UTC)
    worker.on_ownership_transferred(teams.transfer(leaver_id, successor_id, transfer_id=transfer_id,
                                                   transfer_time=TRANSFER_TIME))
    assert owners(query, *open_leads) == [(successor_id, 2), (successor_id, 2)]
    assert owners(query, converted) == [(leaver_id, 2)]  # converted leads keep their owner (version from convert)
    assert owners(query, colleagues)[0][1] == 1
    history = query("SELECT lead_id::text, from_owner_id::text, to_owner_id::text, transfer_id, change_time "
                    "FROM owner_changes WHERE transfer_id = :t ORDER BY lead_id", t=transfer_id)
    assert [tuple(r) for r in history] == sorted(
        (lead.id, leaver_id, successor_id, transfer_id, TRANSFER_TIME) for lead in open_leads)
    # The successor now sees and converts them; the leaver no longer sees them.
    moved = successor.GetLead(leads_pb2.GetLeadRequest(name=open_leads[0].name))
    assert moved.owner == f"users/{successor_id}" and moved.etag == "2"
    assert moved.update_time.ToDatetime(tzinfo=UTC) >= started
    with pytest.raises(grpc.RpcError) as exc:
        leaver.GetLead(leads_pb2.GetLeadRequest(name=open_leads[0].name))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert leaver.GetLead(leads_pb2.GetLeadRequest(name=converted.name)) == converted
    successor.ConvertLead(leads_pb2.ConvertLeadRequest(name=moved.name, etag=moved.etag))


def test_a_redelivered_transfer_changes_nothing(worker, teams, query, as_user, departing):
    leaver_id, _, open_leads, _, _ = departing
    successor_id, _ = as_user()
    body = teams.transfer(leaver_id, successor_id)
    worker.on_ownership_transferred(body)
    worker.on_ownership_transferred(body)
    assert owners(query, *open_leads) == [(successor_id, 2), (successor_id, 2)]
    assert query("SELECT count(*) FROM owner_changes WHERE transfer_id = :t",
                 t=body["data"]["transferId"]) == [(2,)]
    assert query("SELECT consumer FROM inbox WHERE event_id = :e", e=body["id"]) == [
        ("leads.on_ownership_transferred",)]


def test_a_conversion_that_read_the_lead_before_the_handover_is_aborted(worker, teams, as_user, departing):
    leaver_id, leaver, open_leads, _, _ = departing
    successor_id, successor = as_user()
    worker.on_ownership_transferred(teams.transfer(leaver_id, successor_id))
    with pytest.raises(grpc.RpcError) as exc:
        successor.ConvertLead(leads_pb2.ConvertLeadRequest(name=open_leads[0].name, etag=open_leads[0].etag))
    assert exc.value.code() == grpc.StatusCode.ABORTED


def test_a_transfer_of_someone_without_leads_is_consumed_and_moves_nothing(worker, teams, query):
    body = teams.transfer(str(uuid.uuid4()), str(uuid.uuid4()))
    worker.on_ownership_transferred(body)
    assert query("SELECT count(*) FROM owner_changes WHERE transfer_id = :t", t=body["data"]["transferId"]) == [(0,)]
    assert query("SELECT count(*) FROM inbox WHERE event_id = :e", e=body["id"]) == [(1,)]


@pytest.mark.parametrize(("field", "spoil"), [
    ("from_user", lambda data: data.update(fromUser="")),
    ("to_user", lambda data: data.update(toUser="people/1")),
    ("transfer_id", lambda data: data.pop("transferId")),
])
def test_a_malformed_transfer_is_rejected_and_moves_nothing(worker, teams, query, departing, field, spoil):
    leaver_id, _, open_leads, _, _ = departing
    body = teams.transfer(leaver_id, str(uuid.uuid4()))
    spoil(body["data"])
    with pytest.raises(InvalidArgument) as exc:
        worker.on_ownership_transferred(body)
    assert [v.field for v in exc.value.violations] == [field]
    assert owners(query, *open_leads) == [(leaver_id, 1), (leaver_id, 1)]
    assert query("SELECT count(*) FROM inbox WHERE event_id = :e", e=body["id"]) == [(0,)]


def test_the_leavers_customers_follow_to_the_successor_with_an_event(worker, teams, query, as_user):
    leaver_id, leaver = as_user()
    successor_id, successor = as_user()
    customer = leaver.CreateCustomer(leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(
        display_name=f"交接客户{uuid.uuid4().hex[:6]}")))
    worker.on_ownership_transferred(teams.transfer(leaver_id, successor_id))
    moved = successor.GetCustomer(leads_pb2.GetCustomerRequest(name=customer.name))
    assert (moved.owner, moved.etag) == (f"users/{successor_id}", "2")
    [event] = [r[0] for r in query("SELECT data FROM outbox WHERE type = 'shangji.leads.v1.CustomerUpdated' "
                                   "AND subject = :s", s=customer.name)]
    assert event["changedFields"] == ["owner"] and event["customer"]["owner"] == f"users/{successor_id}"
    with pytest.raises(grpc.RpcError) as exc:
        leaver.GetCustomer(leads_pb2.GetCustomerRequest(name=customer.name))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
