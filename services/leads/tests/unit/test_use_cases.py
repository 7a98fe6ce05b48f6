"""Every workflow of the service layer on the in-memory unit of work (tests/unit/fakes.py): the rules a
user notices, in milliseconds, without PostgreSQL or RabbitMQ. The SQL and the broker keep their
integration tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from leads.domain import campaigns as campaign_rules
from leads.domain import dedupe, scoring
from leads.domain.model import HandOver
from leads.domain.settings import LeadSettings
from leads.service_layer import (
    campaigns,
    capture,
    conversion,
    customers,
    lead_import,
    lead_settings,
    organisation,
    pool,
    qualification,
)
from shangji_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from shangji_kit.inbox import Delivery
from shangji_kit.visibility import OrgDepartment, OrgUser

from .fakes import FakeLeadsUnitOfWork

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def uow() -> FakeLeadsUnitOfWork:
    return FakeLeadsUnitOfWork()


class Org:
    """People and departments straight into the fake projection."""

    def __init__(self, uow: FakeLeadsUnitOfWork) -> None:
        self.org = uow.org

    def user(self, *roles: str, department: str | None = None, active: bool = True) -> str:
        user_id = str(uuid.uuid4())
        self.org.users.seed(OrgUser(user_id, department, tuple(roles), active, NOW))
        return user_id

    def team(self) -> tuple[str, str]:
        """A department and its head: (department id, head id)."""
        department = str(uuid.uuid4())
        head = self.user("sales_manager", department=department)
        self.org.departments.seed(OrgDepartment(department, None, f"/{department}/", head, NOW))
        return department, head


@pytest.fixture
def org(uow) -> Org:
    return Org(uow)


def new(company: str = "Ningbo Port", phone: str = "", **kw) -> capture.CreateLead:
    return capture.CreateLead(company=company, contact_name="Chen Li",
                              phone=phone or f"139{uuid.uuid4().int % 10**8:08d}", **kw)


def types(uow) -> list[str]:
    return [type(e).__name__ for e in uow.events]


# --- capture ----------------------------------------------------------------------------------------

def test_capture_creates_a_scored_lead_with_one_event_and_a_retry_writes_nothing(uow, org):
    rep = org.user("sales_rep")
    first = capture.create_lead(new(request_id="r1"), rep, uow, NOW)
    assert (first.result, first.lead.owner_id, first.lead.hold_time) == ("CREATED", rep, NOW)
    assert types(uow) == ["LeadCreated"] and uow.messages[0][1] == first.lead.name
    again = capture.create_lead(new(request_id="r1"), rep, uow, NOW + timedelta(seconds=1))
    assert again.lead.id == first.lead.id and len(uow.leads) == 1 and types(uow) == ["LeadCreated"]


def test_another_callers_request_id_is_refused_and_nothing_is_written(uow, org):
    alice, mallory = org.user("sales_rep"), org.user("sales_rep")
    capture.create_lead(new(request_id="same"), alice, uow, NOW)
    with pytest.raises(AlreadyExists):
        capture.create_lead(new("Other Co", request_id="same"), mallory, uow, NOW)
    assert len(uow.leads) == 1 and uow.committed == 1


def test_a_duplicate_is_flagged_and_the_original_named_only_to_who_may_see_it(uow, org):
    department, head = org.team()
    rep = org.user("sales_rep", department=department)
    stranger, ops = org.user("sales_rep"), org.user("sales_ops")
    original = capture.create_lead(new(phone="13900139000"), rep, uow, NOW).lead
    hidden = capture.create_lead(new("Else", phone="13900139000"), stranger, uow, NOW + timedelta(seconds=1))
    assert (hidden.result, hidden.duplicate_hidden, hidden.ask) == ("FLAGGED", True, f"users/{head}")
    seen = capture.create_lead(new("Third", phone="13900139000"), ops, uow, NOW + timedelta(seconds=2))
    assert (seen.duplicate_hidden, seen.ask, seen.lead.duplicate_of) == (False, "", original.id)
    assert capture.get_lead(hidden.lead.id, stranger, uow).duplicate_of is None
    assert capture.get_lead(hidden.lead.id, ops, uow).duplicate_of == original.id


def test_merge_mode_fills_the_existing_lead_and_tells_a_stranger_nothing_of_it(uow, org):
    rep, stranger = org.user("sales_rep"), org.user("sales_rep")
    uow.pool_settings.pool = uow.pool_settings.pool.__class__(dedupe_mode=dedupe.MERGE)
    existing = capture.create_lead(new(phone="13900139001"), rep, uow, NOW).lead
    merged = capture.create_lead(new("X", phone="13900139001", industry="tea", request_id="m"), stranger, uow, NOW)
    assert (merged.result, merged.visible, merged.ask, merged.lead.id) == ("MERGED", False, "sales ops", existing.id)
    assert uow.leads.get(existing.id).industry == "tea" and len(uow.leads) == 1
    assert capture.create_lead(new("X", phone="13900139001", request_id="m"), stranger, uow, NOW).result == "MERGED"
    assert len(uow.leads.merges) == 1


def test_capture_names_every_bad_field_and_a_foreign_subject_is_unauthenticated(uow, org):
    with pytest.raises(InvalidArgument) as exc:
        capture.create_lead(capture.CreateLead(company="", contact_name="", owner="nobody", campaign="x"),
                            org.user(), uow, NOW)
    assert {v.field for v in exc.value.violations} == {"lead.company", "lead.contact_name", "lead.phone",
                                                       "lead.owner", "lead.campaign"}
    with pytest.raises(Unauthenticated):
        capture.create_lead(new(), "not-a-user", uow, NOW)
    assert uow.committed == 0


# --- the pool ---------------------------------------------------------------------------------------

def test_claim_return_and_the_cap(uow, org):
    rep, rival = org.user("sales_rep"), org.user("sales_rep")
    names = [capture.create_lead(new(f"Co {i}", to_pool=True), rep, uow, NOW).lead.id for i in range(3)]
    uow.pool_settings.pool = uow.pool_settings.pool.__class__(claim_cap=2)
    with pytest.raises(FailedPrecondition) as exc:
        pool.claim_leads(names, rep, uow, NOW)
    assert exc.value.reason == "CLAIM_CAP_EXCEEDED"
    [claimed] = pool.claim_leads(names[:1], rep, uow, NOW)
    assert claimed.owner_id == rep
    with pytest.raises(FailedPrecondition) as exc:
        pool.claim_leads(names[:1], rival, uow, NOW)
    assert exc.value.reason == "LEAD_HELD" and exc.value.metadata["ask"] == "sales ops"
    with pytest.raises(PermissionDenied):  # not a sales user
        pool.claim_leads(names[1:], org.user("marketing"), uow, NOW)
    returned = pool.return_lead(names[0], "no_need", rep, uow, NOW)
    assert returned.owner_id is None and types(uow)[-1] == "LeadReturned"


def test_recycling_warns_a_day_ahead_then_returns_the_lead(uow, org):
    rep = org.user("sales_rep")
    lead = capture.create_lead(new(), rep, uow, NOW).lead
    assert pool.recycle(NOW + timedelta(days=6, hours=1), uow) == {"WARNED": 1, "RECYCLED": 0}
    assert pool.recycle(NOW + timedelta(days=6, hours=2), uow) == {"WARNED": 0, "RECYCLED": 0}
    assert pool.recycle(NOW + timedelta(days=7), uow) == {"WARNED": 0, "RECYCLED": 1}
    assert uow.leads.get(lead.id).owner_id is None and types(uow)[-2:] == ["LeadRecycleWarning", "LeadRecycled"]


def test_follow_ups_by_the_holder_only_and_they_count_as_a_behaviour(uow, org):
    rep = org.user("sales_rep")
    lead = capture.create_lead(new(), rep, uow, NOW).lead
    with pytest.raises(NotFound):
        pool.add_follow_up(lead.id, "CALL", "", org.user("sales_rep"), uow, NOW)
    pool.add_follow_up(lead.id, "CALL", "called", rep, uow, NOW + timedelta(hours=2))
    held = uow.leads.get(lead.id)
    assert held.first_response_time == timedelta(hours=2) and held.behaviour_counts == {scoring.FOLLOW_UP: 1}


def test_auto_assignment_by_a_head_among_their_reps(uow, org):
    department, head = org.team()
    rep = org.user("sales_rep", department=department)
    lead = capture.create_lead(new(to_pool=True), head, uow, NOW).lead
    with pytest.raises(PermissionDenied):
        pool.auto_assign_lead("not a name", rep, uow, NOW)
    assigned = pool.auto_assign_lead(lead.name, head, uow, NOW)
    assert assigned.owner_id in (head, rep) and types(uow)[-1] == "LeadAssigned"


def test_each_change_of_holder_is_kept_with_who_why_and_when_and_a_refused_one_keeps_nothing(uow, org):
    department, head = org.team()
    rep = org.user("sales_rep", department=department)
    lead = capture.create_lead(new(to_pool=True), rep, uow, NOW).lead
    pool.claim_leads([lead.id], rep, uow, NOW + timedelta(minutes=1))
    pool.return_lead(lead.id, "no_need", rep, uow, NOW + timedelta(minutes=2))
    with pytest.raises(InvalidArgument) as exc:
        pool.assign_leads([lead.id], "people/1", head, uow, NOW, reason="r" * 501)
    assert [v.field for v in exc.value.violations] == ["assignee", "reason"]
    pool.assign_leads([lead.id], f"users/{rep}", head, uow, NOW + timedelta(minutes=3), reason=" 熟客 ")
    assert uow.events[-1].reason == "熟客"
    pool.recycle(NOW + timedelta(days=8), uow)
    page = pool.list_assignments(lead.id, rep, 3, "", uow)
    assert [(a.kind, a.previous_owner_id, a.new_owner_id, a.actor_id, a.reason) for a in page.items] == [
        ("recycle", rep, None, None, "NO_FOLLOW_UP"), ("assign", None, rep, head, "熟客"),
        ("return", rep, None, rep, "no_need")]
    rest = pool.list_assignments(lead.id, rep, 3, page.next_page_token, uow)
    assert [(a.kind, a.actor_id, a.change_time) for a in rest.items] == [("claim", rep, NOW + timedelta(minutes=1))]
    assert rest.next_page_token == ""
    with pytest.raises(NotFound):
        pool.list_assignments(lead.id, org.user("marketing"), 0, "", uow)


# --- qualification and settings -------------------------------------------------------------------------

def test_behaviours_rescore_and_a_bad_type_and_time_are_named_together(uow, org):
    rep = org.user("sales_rep")
    lead = capture.create_lead(new(), rep, uow, NOW).lead
    scored = qualification.record_behaviour(qualification.RecordBehaviour(lead.id, "visit", request_id="b"), rep,
                                            uow, NOW)
    assert scored.score == 10
    again = qualification.record_behaviour(qualification.RecordBehaviour(lead.id, "visit", request_id="b"), rep,
                                           uow, NOW)
    assert again.score == 10 and len(uow.leads.behaviours) == 1
    with pytest.raises(InvalidArgument) as exc:
        qualification.record_behaviour(
            qualification.RecordBehaviour(lead.id, "dance", datetime(1900, 1, 1, tzinfo=UTC)), rep, uow, NOW)
    assert [v.field for v in exc.value.violations] == ["type", "occur_time"]


def test_settings_change_by_sales_ops_only_caller_first_and_every_bad_field(uow, org):
    rep, ops = org.user("sales_rep"), org.user("sales_ops")
    bad = LeadSettings(uow.pool_settings.pool.__class__(claim_cap=-1, recycle_after_days_unconverted=10**7),
                       uow.pool_settings.scoring_settings, 0)
    with pytest.raises(PermissionDenied):
        lead_settings.update_settings(bad, ("no_such_field",), "", rep, uow)
    with pytest.raises(InvalidArgument) as exc:
        lead_settings.update_settings(bad, ("claim_cap", "recycle_after_days_unconverted"), "", ops, uow)
    assert [v.field for v in exc.value.violations] == ["settings.claim_cap", "settings.recycle_after_days_unconverted"]
    changed = lead_settings.update_settings(
        LeadSettings(uow.pool_settings.pool.__class__(claim_cap=9), uow.pool_settings.scoring_settings, 0),
        ("claim_cap",), "1", ops, uow)
    assert (changed.pool.claim_cap, changed.etag) == (9, "2")


def test_stale_scores_are_rescored_after_the_rules_change(uow, org):
    rep = org.user("sales_rep")
    capture.create_lead(new(industry="tea"), rep, uow, NOW)
    uow.pool_settings.scoring_settings = scoring.ScoringSettings(
        rules=(scoring.ScoringRule("industry", ("tea",), 40),), version=2)
    assert qualification.rescore_stale(NOW, uow) == 1
    assert [e.to_qualification for e in uow.events if isinstance(e, scoring.LeadQualificationChanged)] == ["MQL"]


# --- conversion -------------------------------------------------------------------------------------

def test_conversion_makes_a_customer_with_the_contact_and_one_event_chain(uow, org):
    rep = org.user("sales_rep")
    lead = capture.create_lead(new(), rep, uow, NOW).lead
    with pytest.raises(PermissionDenied):
        conversion.convert_lead(conversion.ConvertLead(lead.id), org.user("sales_ops"), uow, NOW)
    converted = conversion.convert_lead(conversion.ConvertLead(lead.id), rep, uow, NOW)
    [customer] = uow.customers.rows()
    assert converted.customer_id == customer.id and len(uow.customers.chain(customer.id)) == 1
    assert types(uow)[-3:] == ["CustomerCreated", "CustomerDecisionChainChanged", "LeadConverted"]
    with pytest.raises(FailedPrecondition):
        conversion.convert_lead(conversion.ConvertLead(lead.id), rep, uow, NOW)


def test_conversion_chain_revisions_into_a_new_then_an_existing_customer(uow, org):
    """A new customer is written with its first chain revision; joining it takes the next one, and each
    LeadConverted carries the whole chain (the new customer's chain is not read, so this pins what it must be)."""
    rep = org.user("sales_rep")

    def convert(**kw):
        lead = capture.create_lead(new(company="Ningbo Port Co", **kw), rep, uow, NOW).lead
        converted = conversion.convert_lead(conversion.ConvertLead(lead.id), rep, uow, NOW)
        [message] = [m for m, _ in uow.messages if type(m).__name__ == "LeadConverted" and m.lead.id == lead.id]
        return converted, message

    first, first_event = convert(phone="13900139011")
    [customer] = uow.customers.rows()
    assert customer.chain_revision == 1 and [c.phone for c in first_event.decision_chain] == ["+8613900139011"]
    created = [m for m, _ in uow.messages if type(m).__name__ == "CustomerCreated"]
    assert [m.customer.decision_chain_revision for m in created] == [1]
    second, second_event = convert(phone="13900139012")
    assert second.customer_id == first.customer_id and uow.customers.get(customer.id).chain_revision == 2
    assert [c.phone for c in second_event.decision_chain] == ["+8613900139011", "+8613900139012"]
    # The same person again joins without a new contact or revision.
    _, third_event = convert(phone="13900139012")
    assert uow.customers.get(customer.id).chain_revision == 2 and len(third_event.decision_chain) == 2
    revisions = [m.revision for m, _ in uow.messages if type(m).__name__ == "CustomerDecisionChainChanged"]
    assert revisions == [1, 2]


# --- customers and contacts ------------------------------------------------------------------------------

def test_customers_request_ids_per_caller_and_conflicts_without_ids(uow, org):
    department, head = org.team()
    rep = org.user("sales_rep", department=department)
    stranger = org.user("sales_rep")
    created = customers.create_customer(customers.CreateCustomer({"display_name": "云帆科技"}, request_id="c"),
                                        rep, uow, NOW)
    assert customers.create_customer(customers.CreateCustomer({"display_name": "whatever"}, request_id="c"),
                                     rep, uow, NOW).customer.id == created.customer.id
    with pytest.raises(AlreadyExists) as exc:
        customers.create_customer(customers.CreateCustomer({"display_name": "云帆科技 有限公司"}), stranger, uow, NOW)
    assert exc.value.metadata == {"ask": f"users/{head}"} and created.customer.id not in str(exc.value)
    with pytest.raises(AlreadyExists):
        customers.create_customer(customers.CreateCustomer({"display_name": "Else"}, request_id="c"), stranger, uow,
                                  NOW)
    contact = customers.create_contact(customers.CreateContact(created.customer.id, {"display_name": "周杰",
                                                                                      "phone": "13900139002"}, "k"),
                                       rep, uow, NOW)
    again = customers.create_contact(customers.CreateContact(created.customer.id, {"display_name": "周杰",
                                                                                    "phone": "13900139002"}, "k"),
                                     rep, uow, NOW)
    assert again.id == contact.id and len(uow.customers.contacts) == 1
    with pytest.raises(NotFound):
        customers.create_contact(
            customers.CreateContact(created.customer.id, {"display_name": "x", "phone": "13900139005"}), stranger, uow,
            NOW)


# --- import --------------------------------------------------------------------------------------------

def test_an_import_dedupes_within_itself_and_a_second_run_takes_nothing(uow, org):
    rep = org.user("sales_rep")
    rows = [(2, ["甲", "张三", "13900139003"]), (3, ["乙", "李四", "13900139003"]), (4, ["", "", ""]),
            (5, ["", "王五", "13900139004"])]
    cmd = lead_import.ImportLeads(columns=["company", "contact_name", "phone"], rows=rows)
    report = lead_import.import_leads(cmd, rep, uow, now=NOW)
    assert (report.accepted, report.flagged, report.rejected_rows, report.committed) == (2, 1, 1, True)
    assert types(uow)[-1] == "LeadsImported" and len(uow.bulk) == 4  # 2 created, 1 flagged, the import
    again = lead_import.import_leads(cmd, rep, uow, now=NOW)
    assert (again.accepted, again.already_imported) == (0, 2)


def test_an_import_refuses_repeated_row_numbers_and_every_bad_header_field(uow, org):
    cmd = lead_import.ImportLeads(columns=["company"], rows=[(2, ["a"]), (2, ["b"])], owner="x", auto_assign=True)
    with pytest.raises(InvalidArgument) as exc:
        lead_import.import_leads(cmd, org.user("sales_rep"), uow, now=NOW)
    assert {v.field for v in exc.value.violations} == {"columns", "owner", "auto_assign", "rows[1].row_number"}
    assert uow.committed == 0


# --- campaigns, organisation ----------------------------------------------------------------------------

def test_campaigns_are_for_sales_ops_who_are_checked_before_the_input(uow, org):
    with pytest.raises(PermissionDenied):
        campaigns.create_campaign({"cost": "lots"}, "", org.user("sales_rep"), uow, NOW)
    made = campaigns.create_campaign({"display_name": "展会", "channel": "fair", "cost": "100"}, "",
                                     org.user("sales_ops"), uow, NOW)
    assert isinstance(made, campaign_rules.Campaign) and made.cost == 100


def test_handover_moves_open_leads_and_customers_once(uow, org):
    leaver, successor = org.user("sales_rep"), org.user("sales_rep")
    lead = capture.create_lead(new(), leaver, uow, NOW).lead
    customers.create_customer(customers.CreateCustomer({"display_name": "交接公司"}), leaver, uow, NOW)
    delivery = Delivery("leads.on_ownership_transferred", "e1", "shangji.teams.v1.OwnershipTransferred")
    cmd = HandOver("t1", leaver, successor, NOW)
    assert organisation.hand_over(delivery, uow, cmd, NOW) == [lead.id]
    assert organisation.hand_over(delivery, uow, cmd, NOW) == []  # a redelivery
    assert uow.leads.get(lead.id).owner_id == successor and types(uow)[-1] == "CustomerUpdated"


def test_lead_created_says_who_captured_or_imported_it_so_notify_tells_another_owner(uow, org):
    import json

    from leads.adapters import event_encoder

    head_department, head = org.team()
    rep = org.user("sales_rep", department=head_department)
    made = capture.create_lead(new(owner=f"users/{rep}"), head, uow, NOW)
    message, _ = event_encoder.encode(next(e for e in uow.events if type(e).__name__ == "LeadCreated"))
    assert (message.created_by, message.imported, made.lead.owner_id) == (f"users/{head}", False, rep)
    cmd = lead_import.ImportLeads(columns=["company", "contact_name", "phone"],
                                  rows=[(2, ["丙", "赵六", "13900139007"])])
    lead_import.import_leads(cmd, head, uow, now=NOW)
    created = [json.loads(payload) for kind, _, payload in event_encoder.outbox_rows(
        [e for e in uow.bulk if type(e).__name__ == "LeadCreated"])]
    assert [(c["createdBy"], c["imported"]) for c in created] == [(f"users/{head}", True)]
