"""The LeadConverted consumer against the session's real opportunities database."""

import uuid

import grpc
import pytest

from opportunities.service_layer import registration
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.errors import InvalidArgument


@pytest.fixture
def counts(scalar):
    """(opportunities, OpportunityRegistered outbox rows) of one lead."""
    def of(lead_id: str) -> tuple[int, int]:
        deals = scalar("SELECT count(*) FROM opportunities WHERE lead_id = :lead", lead=lead_id)
        events = scalar("SELECT count(*) FROM outbox WHERE type = 'shangji.opportunities.v1.OpportunityRegistered' "
                        "AND data -> 'opportunity' ->> 'lead' = :lead", lead=f"leads/{lead_id}")
        return deals, events

    return of


def test_a_converted_lead_registers_one_deal_for_its_owner_in_discover(worker, lead_converted, scalar, counts):
    owner, converter, lead_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    worker.on_lead_converted(lead_converted(owner=owner, lead_id=lead_id, converted_by=converter,
                                            title="智能仓储系统二期"))
    row = scalar("SELECT row_to_json(o) FROM opportunities o WHERE lead_id = :lead", lead=lead_id)
    assert (row["owner_id"], row["registrant_id"], row["stage_key"]) == (owner, converter, "discover")
    assert (row["title"], row["customer_company"], row["contact_name"]) == \
        ("智能仓储系统二期", "华东精密机械有限公司", "王经理")
    assert (row["contact_phone"], row["contact_email"], row["region"], row["source"]) == \
        ("+8613800138000", "wang@example.com", "上海", "展会")
    assert counts(lead_id) == (1, 1)
    subject = scalar("SELECT subject FROM outbox WHERE data -> 'opportunity' ->> 'lead' = :lead",
                     lead=f"leads/{lead_id}")
    assert subject == f"opportunities/{row['id']}"


def test_the_registered_event_carries_the_stage_display_name_and_falls_back_to_the_company(
        worker, lead_converted, scalar):
    lead_id = str(uuid.uuid4())
    worker.on_lead_converted(lead_converted(owner=str(uuid.uuid4()), lead_id=lead_id))
    data = scalar("SELECT data FROM outbox WHERE data -> 'opportunity' ->> 'lead' = :lead", lead=f"leads/{lead_id}")
    assert (data["opportunity"]["stage"], data["opportunity"]["stageDisplayName"]) == ("discover", "发现机会")
    assert data["opportunity"]["title"] == "华东精密机械有限公司"


def test_a_redelivered_event_registers_nothing_more(worker, lead_converted, counts):
    body = lead_converted(owner=str(uuid.uuid4()))
    worker.on_lead_converted(body)
    worker.on_lead_converted(body)
    assert counts(body["data"]["lead"]["id"]) == (1, 1)


def test_another_event_for_the_same_lead_still_yields_one_deal(worker, lead_converted, scalar, counts):
    owner, lead_id = str(uuid.uuid4()), str(uuid.uuid4())
    first, second = lead_converted(owner=owner, lead_id=lead_id), lead_converted(owner=owner, lead_id=lead_id)
    worker.on_lead_converted(first)
    worker.on_lead_converted(second)
    assert counts(lead_id) == (1, 1)
    # Both deliveries are recorded, so neither is handled again.
    assert scalar("SELECT count(*) FROM inbox WHERE consumer = :c AND event_id IN (:a, :b)",
                  c=registration.LEAD_CONVERTED_CONSUMER, a=first["id"], b=second["id"]) == 2


def test_a_malformed_event_is_rejected_and_writes_nothing(worker, lead_converted, scalar, counts):
    body = lead_converted(owner=str(uuid.uuid4()))
    body["data"]["lead"]["owner"] = "people/7"
    with pytest.raises(InvalidArgument) as exc:
        worker.on_lead_converted(body)
    assert exc.value.violations[0].field == "lead.owner"
    assert counts(body["data"]["lead"]["id"]) == (0, 0)
    assert scalar("SELECT count(*) FROM inbox WHERE event_id = :e", e=body["id"]) == 0


def test_a_conversion_carries_its_product_lines_and_holds_the_customer_for_them(worker, lead_converted, scalar,
                                                                                as_user):
    owner, other, company = str(uuid.uuid4()), str(uuid.uuid4()), f"转化客户{uuid.uuid4().hex[:8]}有限公司"
    body = lead_converted(owner=owner, company=company, product_lines=("ERP", "MES"))
    worker.on_lead_converted(body)
    row = scalar("SELECT row_to_json(o) FROM opportunities o WHERE lead_id = :lead", lead=body["data"]["lead"]["id"])
    assert (row["product_lines"], row["registration_state"]) == (["ERP", "MES"], "active")
    # The converted deal holds its customer: another rep's registration for a shared line collides (refuse mode).
    with pytest.raises(grpc.RpcError) as exc:
        as_user(other).RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
            customer_company=company, product_lines=["mes"])))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_conversion_colliding_with_another_reps_deal_waits_for_arbitration_whatever_the_mode(
        worker, lead_converted, scalar, as_user):
    holder, owner, company = str(uuid.uuid4()), str(uuid.uuid4()), f"撞单客户{uuid.uuid4().hex[:8]}有限公司"
    assert scalar("SELECT collision_mode FROM registration_settings") == "refuse"
    held = as_user(holder).RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        customer_company=company, product_lines=["ERP"])))
    body = lead_converted(owner=owner, company=company.removesuffix("有限公司"), product_lines=("erp", "CRM"))
    worker.on_lead_converted(body)
    row = scalar("SELECT row_to_json(o) FROM opportunities o WHERE lead_id = :lead", lead=body["data"]["lead"]["id"])
    assert (row["registration_state"], row["collides_with"], row["owner_id"]) == ("pending_arbitration", held.id,
                                                                                  owner)
    deal = f"opportunities/{row['id']}"
    types = scalar("SELECT string_agg(type, ',' ORDER BY position) FROM outbox WHERE subject = :s", s=deal)
    assert types == ("shangji.opportunities.v1.OpportunityRegistered,"
                     "shangji.opportunities.v1.OpportunityRegistrationQueued")
    queued = scalar("SELECT data FROM outbox WHERE subject = :s AND type LIKE '%Queued'", s=deal)
    assert (queued["holder"], queued["holdingOpportunity"], queued["productLines"]) == (
        f"users/{holder}", held.name, ["erp"])
    # Frozen until a manager decides, as a queued registration is.
    with pytest.raises(grpc.RpcError) as exc:
        as_user(owner).UpdateOpportunity(pb.UpdateOpportunityRequest(
            opportunity=pb.Opportunity(name=deal, title="x"), update_mask={"paths": ["title"]}))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
