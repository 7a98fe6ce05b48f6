"""Registration (报备) and collision protection (撞单) through the in-process front, on the real database."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import field_mask_pb2

from opportunities import bootstrap
from opportunities.service_layer import registration
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing.calls import fails

SOON = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
Decision = pb.ArbitrateRegistrationRequest


def company() -> str:
    return f"测试客户{uuid.uuid4().hex[:8]}有限公司"


def register(caller, customer, lines=("ERP",), **fields) -> pb.Opportunity:
    return caller.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        customer_company=customer, product_lines=list(lines), **fields)))


def deals_for(scalar, customer: str) -> int:
    return scalar("SELECT count(*) FROM opportunities WHERE customer_company = :c", c=customer)


@pytest.fixture
def queue_mode(execute):
    execute("UPDATE registration_settings SET collision_mode = 'queue'")
    yield
    execute("UPDATE registration_settings SET collision_mode = 'refuse', protection_days = 90")


def test_register_directly(as_user, scalar):
    rep, customer = str(uuid.uuid4()), company()
    deal = register(as_user(rep), customer, ("ERP", "MES", "ERP"), title="二期仓储", amount="88000.00",
                    currency="cny", expected_close_date=SOON, region="华东", source="展会")
    assert (deal.owner, deal.registrant) == (f"users/{rep}", f"users/{rep}")
    assert (deal.title, deal.customer_company, list(deal.product_lines)) == ("二期仓储", customer, ["ERP", "MES"])
    assert (deal.amount, deal.currency, deal.expected_close_date, deal.region) == ("88000.00", "CNY", SOON, "华东")
    assert (deal.stage, deal.registration_state, deal.etag, deal.collides_with) == ("discover", pb.Opportunity.ACTIVE,
                                                                                    "1", "")
    assert as_user(rep).GetOpportunity(pb.GetOpportunityRequest(name=deal.name)) == deal
    assert scalar("SELECT string_agg(type, ',') FROM outbox WHERE subject = :s", s=deal.name) == \
        "shangji.opportunities.v1.OpportunityRegistered"
    assert scalar("SELECT count(*) FROM stage_history WHERE opportunity_id = :i", i=deal.id) == 1
    assert register(as_user(rep), company(), title="").title.startswith("测试客户")


@pytest.mark.parametrize(("fields", "bad"), [
    ({"customer_company": "  "}, ["opportunity.customer_company", "opportunity.title"]),
    ({"product_lines": []}, ["opportunity.product_lines"]),
    ({"product_lines": [" "]}, ["opportunity.product_lines"]),
    ({"expected_close_date": "2001-01-01"}, ["opportunity.expected_close_date"]),
    ({"expected_close_date": "2030-13-01"}, ["opportunity.expected_close_date"]),
    ({"amount": "-5"}, ["opportunity.amount"]),
    ({"amount": "abc"}, ["opportunity.amount"]),
    ({"currency": "元"}, ["opportunity.currency"]),
    ({"title": "x" * 201}, ["opportunity.title"]),
    ({"pipeline": "pipelines/nope"}, ["opportunity.pipeline"]),
    ({"pipeline": f"pipelines/{uuid.uuid4()}"}, ["opportunity.pipeline"]),
    ({"currency": "元", "product_lines": []}, ["opportunity.product_lines", "opportunity.currency"]),
])
def test_bad_registrations_are_precise_and_store_nothing(as_user, scalar, fields, bad):
    customer = company()
    request = {"customer_company": customer, "product_lines": ["ERP"], **fields}
    exc = fails(as_user(str(uuid.uuid4())).RegisterOpportunity,
                pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(**request)))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(exc)["fields"] == bad
    assert deals_for(scalar, customer) == 0


def test_a_collision_is_refused_naming_the_holder_and_since_when(as_user, scalar, execute):
    holder, other, customer = str(uuid.uuid4()), str(uuid.uuid4()), company()
    held = register(as_user(holder), customer, ("ERP", "CRM"))
    # The same customer spelled otherwise, a shared product line in another case.
    exc = fails(lambda r: register(as_user(other), customer.removesuffix("有限公司") + " ", ("erp", "MES")), None)
    assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = details_of(exc)
    assert details["reason"] == "REGISTRATION_COLLISION"
    since = held.create_time.ToDatetime(tzinfo=UTC)
    assert details["metadata"]["holder"] == f"users/{holder}"
    assert datetime.fromisoformat(details["metadata"]["since"]) == since
    assert datetime.fromisoformat(details["metadata"]["protected_until"]) == since + timedelta(days=90)
    assert details["metadata"]["product_lines"] == "erp"
    assert details["preconditions"][0][0] == "REGISTRATION_COLLISION"
    assert deals_for(scalar, customer) == 1
    assert scalar("SELECT count(*) FROM opportunities WHERE customer_key = "
                  "(SELECT customer_key FROM opportunities WHERE id = :i)", i=held.id) == 1
    # Another product line, the holder themself: no collision.
    assert register(as_user(other), customer, ("MES",)).registration_state == pb.Opportunity.ACTIVE
    assert register(as_user(holder), customer, ("ERP",)).registration_state == pb.Opportunity.ACTIVE
    # Past the protection period the customer is free again.
    execute("UPDATE opportunities SET create_time = create_time - interval '91 days' "
            "WHERE owner_id = :o AND customer_company = :c", o=holder, c=customer)
    assert register(as_user(other), customer, ("ERP",)).registration_state == pb.Opportunity.ACTIVE


def test_a_lost_deal_releases_the_customer(as_user):
    holder, other, customer = str(uuid.uuid4()), str(uuid.uuid4()), company()
    held = register(as_user(holder), customer)
    as_user(holder).LoseOpportunity(pb.LoseOpportunityRequest(name=held.name, reason="价格"))
    assert register(as_user(other), customer).registration_state == pb.Opportunity.ACTIVE


def test_queue_mode_stores_the_collision_for_a_manager(as_user, org, scalar, queue_mode):
    manager = org.user(roles=("sales_manager",))
    dept = org.department(head=manager)
    org.user(manager, department=dept, roles=("sales_manager",), kind="UserUpdated")
    holder = org.user(department=dept)
    other, stranger, customer = str(uuid.uuid4()), str(uuid.uuid4()), company()
    held = register(as_user(holder), customer)
    queued = register(as_user(other), customer)
    # The registrant may not see the deal theirs collided with: it is not named to them (issue 11); the manager
    # above its holder, who arbitrates, sees which deal it is.
    assert (queued.registration_state, queued.collides_with, queued.owner) == (
        pb.Opportunity.PENDING_ARBITRATION, "", f"users/{other}")
    types = scalar("SELECT string_agg(type, ',' ORDER BY position) FROM outbox WHERE subject = :s", s=queued.name)
    assert types == ("shangji.opportunities.v1.OpportunityRegistered,"
                     "shangji.opportunities.v1.OpportunityRegistrationQueued")
    # Waiting: nobody changes it.
    blocked = fails(as_user(other).AdvanceStage, pb.AdvanceStageRequest(name=queued.name))
    assert blocked.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details_of(blocked)["reason"] == "REGISTRATION_NOT_ACTIVE"
    # Who may arbitrate: not a stranger (cannot see it), not the rep (sees it), a manager above the holder.
    approve = Decision(name=queued.name, decision=Decision.APPROVE, note="客户指定")
    assert fails(as_user(stranger).ArbitrateRegistration, approve).code() == grpc.StatusCode.NOT_FOUND
    denied = fails(as_user(other).ArbitrateRegistration, approve)
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED and details_of(denied)["reason"] == "NOT_AN_ARBITER"
    no_decision = fails(as_user(manager).ArbitrateRegistration, Decision(name=queued.name))
    assert no_decision.code() == grpc.StatusCode.INVALID_ARGUMENT and details_of(no_decision)["fields"] == ["decision"]
    stale = fails(as_user(manager).ArbitrateRegistration,
                  Decision(name=queued.name, decision=Decision.APPROVE, etag="9"))
    assert stale.code() == grpc.StatusCode.ABORTED
    assert scalar("SELECT registration_state FROM opportunities WHERE id = :i", i=queued.id) == "pending_arbitration"
    approved = as_user(manager).ArbitrateRegistration(approve)
    assert (approved.registration_state, approved.etag) == (pb.Opportunity.ACTIVE, "2")
    assert approved.collides_with == held.name
    assert scalar("SELECT arbiter_id::text || ' ' || arbitration_note FROM opportunities WHERE id = :i",
                  i=queued.id) == f"{manager} 客户指定"
    assert scalar("SELECT count(*) FROM outbox WHERE subject = :s AND type LIKE '%RegistrationArbitrated'",
                  s=queued.name) == 1
    again = fails(as_user(manager).ArbitrateRegistration, approve)
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details_of(again)["reason"] == "NOT_PENDING_ARBITRATION"
    lost = as_user(other).LoseOpportunity(pb.LoseOpportunityRequest(name=queued.name, reason="价格"))
    assert lost.stage == "lost"  # active again: its owner changes it


def test_sales_ops_rejects_and_a_rejected_registration_is_frozen(as_user, org, queue_mode):
    ops = org.user(roles=("sales_ops",))
    holder, other, customer = str(uuid.uuid4()), str(uuid.uuid4()), company()
    register(as_user(holder), customer)
    queued = register(as_user(other), customer)
    rejected = as_user(ops).ArbitrateRegistration(Decision(name=queued.name, decision=Decision.REJECT, note="重复"))
    assert rejected.registration_state == pb.Opportunity.REJECTED
    frozen = fails(as_user(other).LoseOpportunity, pb.LoseOpportunityRequest(name=queued.name, reason="价格"))
    assert details_of(frozen)["reason"] == "REGISTRATION_NOT_ACTIVE"


def test_a_conversion_that_collides_is_queued_even_in_refuse_mode(as_user, shangji_env, scalar):
    holder, converter, customer = str(uuid.uuid4()), str(uuid.uuid4()), company()
    held = register(as_user(holder), customer, ("ERP",))
    cmd = registration.RegisterFromConversion(lead_id=str(uuid.uuid4()), owner_id=converter, registrant_id=converter,
                                          title="", customer_company=customer, product_lines=("ERP",))
    uow = bootstrap.uow_factory(Settings.for_service("opportunities"))
    deal = registration.register_from_conversion(cmd, str(uuid.uuid4()), uow())
    assert (deal.registration_state, deal.collides_with) == ("pending_arbitration", held.id)
    assert scalar("SELECT registration_state FROM opportunities WHERE id = :i", i=deal.id) == "pending_arbitration"
    # Without product lines (what LeadConverted carries today) it collides with nothing.
    plain = registration.register_from_conversion(
        registration.RegisterFromConversion(lead_id=str(uuid.uuid4()), owner_id=converter, registrant_id=converter,
                                        title="", customer_company=customer), str(uuid.uuid4()), uow())
    assert plain.registration_state == "active"


# --- product lines added by UpdateOpportunity -------------------------------------------------------------------

def add_lines(caller, deal: pb.Opportunity, lines) -> pb.Opportunity:
    return caller.UpdateOpportunity(pb.UpdateOpportunityRequest(
        opportunity=pb.Opportunity(name=deal.name, product_lines=list(lines)),
        update_mask=field_mask_pb2.FieldMask(paths=["product_lines"]), etag=deal.etag))


def test_adding_a_held_product_line_is_refused_and_changes_nothing(as_user, scalar):
    holder, other, customer = str(uuid.uuid4()), str(uuid.uuid4()), company()
    held = register(as_user(holder), customer, ("ERP",))
    mine = register(as_user(other), customer, ("MES",))
    exc = fails(lambda r: add_lines(as_user(other), mine, ("MES", "erp")), None)
    assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = details_of(exc)
    assert details["reason"] == "REGISTRATION_COLLISION"
    assert (details["metadata"]["holder"], details["metadata"]["product_lines"]) == (f"users/{holder}", "erp")
    assert as_user(other).GetOpportunity(pb.GetOpportunityRequest(name=mine.name)) == mine
    # A line nobody else holds is not refused, nor keeping or dropping lines; but the first to add a line holds it.
    mine = add_lines(as_user(other), mine, ("MES", "CRM"))
    assert list(mine.product_lines) == ["MES", "CRM"]
    assert list(add_lines(as_user(other), mine, ("CRM",)).product_lines) == ["CRM"]
    held = add_lines(as_user(holder), held, ("ERP", "SCM"))
    assert list(held.product_lines) == ["ERP", "SCM"]
    assert fails(lambda r: add_lines(as_user(holder), held, ("ERP", "crm")), None).code() == \
        grpc.StatusCode.FAILED_PRECONDITION
    assert scalar("SELECT count(*) FROM outbox WHERE subject = :s AND type LIKE '%Queued'", s=mine.name) == 0


def test_adding_a_held_product_line_is_refused_in_queue_mode_too(as_user, scalar, queue_mode):
    # Queueing an edit would put a deal already being worked back into arbitration, where a rejection rejects it.
    holder, other, customer = str(uuid.uuid4()), str(uuid.uuid4()), company()
    held = register(as_user(holder), customer, ("ERP",))
    mine = register(as_user(other), customer, ("MES",))
    exc = fails(lambda r: add_lines(as_user(other), mine, ("MES", "ERP")), None)
    assert (exc.code(), details_of(exc)["reason"]) == (grpc.StatusCode.FAILED_PRECONDITION, "REGISTRATION_COLLISION")
    assert details_of(exc)["metadata"]["holder"] == f"users/{holder}"
    assert as_user(other).GetOpportunity(pb.GetOpportunityRequest(name=mine.name)) == mine
    assert scalar("SELECT registration_state FROM opportunities WHERE id = :i", i=mine.id) == "active"
    assert scalar("SELECT count(*) FROM outbox WHERE subject = :s AND type LIKE '%Queued'", s=mine.name) == 0
    assert held.registration_state == pb.Opportunity.ACTIVE
