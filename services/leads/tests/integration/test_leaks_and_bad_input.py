"""Issue 11 in leads, through the front: request ids scoped to their caller (also under concurrency),
answers that never name a record the caller may not see (they say whom to ask), admin-only calls that
check the caller before the input, and the domain's own rules on bad input (every bad field named,
nothing written). Fixtures in conftest.py."""

from __future__ import annotations

import random
import threading
import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from shangji.leads.v1 import leads_pb2
from shangji_kit.rpc.client import metadata
from shangji_kit.rpc.status import details_of

TABLES = ("leads", "customers", "contacts", "outbox", "lead_behaviours", "campaigns", "idempotency_keys")


def written(query) -> tuple:
    return tuple(query(f"SELECT count(*) FROM {t}")[0][0] for t in TABLES)


def refused(call, request, code: grpc.StatusCode) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    assert exc.value.code() == code, exc.value.details()
    return exc.value


def with_trailers(caller, method: str, request):
    """(answer, trailing metadata as a dict) of a call as ``caller``."""
    answer, call = getattr(caller._stub, method).with_call(request, metadata=metadata(caller._token, None),
                                                           timeout=10)
    return answer, dict(call.trailing_metadata())


def concurrently(n: int, call) -> list:
    """``call()`` from ``n`` threads released together; each answer, or the status code it failed with."""
    answers: list = []
    start = threading.Barrier(n)

    def run() -> None:
        start.wait()
        try:
            answers.append(call())
        except grpc.RpcError as exc:
            answers.append(exc.code())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def phone() -> str:
    return f"139{random.randrange(10**8):08d}"


def customer_request(name: str, request_id: str = "") -> leads_pb2.CreateCustomerRequest:
    return leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(display_name=name, region="浙江"),
                                           request_id=request_id)


def contact_request(customer: str, request_id: str = "", **kw) -> leads_pb2.CreateContactRequest:
    fields = {"display_name": "周杰", "phone": phone()} | kw
    return leads_pb2.CreateContactRequest(parent=customer, contact=leads_pb2.Contact(**fields), request_id=request_id)


@pytest.fixture
def team(org, as_user):
    """A department with its head and a rep: ``(head_id, (rep_id, rep))``."""
    department, head_id = org.head()
    return head_id, as_user(org.user(department, roles=("sales_rep",)))


# --- request ids belong to their caller -----------------------------------------------------------

def test_another_callers_request_id_on_create_customer_or_contact_tells_nothing_of_theirs(as_user, query):
    _, alice = as_user()
    _, mallory = as_user()
    request_id = str(uuid.uuid4())
    mine = alice.CreateCustomer(customer_request(f"丝路{uuid.uuid4().hex[:6]}", request_id))
    alice.CreateContact(contact_request(mine.name, request_id, display_name="秘书长", email="boss@example.com"))
    theirs = mallory.CreateCustomer(customer_request(f"别家{uuid.uuid4().hex[:6]}"))
    before = written(query)
    for call, request in ((mallory.CreateCustomer, customer_request(f"别家{uuid.uuid4().hex[:6]}", request_id)),
                          (mallory.CreateContact, contact_request(theirs.name, request_id))):
        error = refused(call, request, grpc.StatusCode.ALREADY_EXISTS)
        assert mine.id not in error.details() and "秘书长" not in error.details() and "boss@" not in error.details()
        assert details_of(error)["metadata"] == {"request_id": request_id}
    assert written(query) == before
    # The owner's own retry still answers with the first customer.
    assert alice.CreateCustomer(customer_request("anything", request_id)).name == mine.name


def test_twenty_concurrent_create_contacts_with_one_request_id_make_one_contact_and_twenty_answers(as_user, query):
    _, rep = as_user()
    customer = rep.CreateCustomer(customer_request(f"并发{uuid.uuid4().hex[:6]}"))
    request = contact_request(customer.name, str(uuid.uuid4()))
    answers = concurrently(20, lambda: rep.CreateContact(request).name)
    assert len(answers) == 20 and len(set(answers)) == 1 and str(answers[0]).startswith("contacts/"), answers
    assert query("SELECT count(*) FROM contacts WHERE customer_id = :c", c=customer.id)[0][0] == 1


def test_concurrent_create_customer_retries_return_the_original(as_user, query):
    _, rep = as_user()
    request = customer_request(f"重试并发{uuid.uuid4().hex[:6]}", str(uuid.uuid4()))
    answers = concurrently(10, lambda: rep.CreateCustomer(request).name)
    assert len(set(answers)) == 1 and str(answers[0]).startswith("customers/"), answers
    assert query("SELECT count(*) FROM customers WHERE display_name = :n", n=request.customer.display_name)[0][0] == 1


# --- conflicts with records the caller may not see ------------------------------------------------

def test_customer_exists_names_the_customer_only_to_someone_who_may_see_it(team, ops, as_user, query):
    head_id, (_, rep) = team
    name = f"杭州{uuid.uuid4().hex[:6]}有限公司"
    created = rep.CreateCustomer(customer_request(name))
    _, stranger = as_user()
    before = written(query)
    error = refused(stranger.CreateCustomer, customer_request(name), grpc.StatusCode.ALREADY_EXISTS)
    assert details_of(error)["reason"] == "CUSTOMER_EXISTS"
    assert details_of(error)["metadata"] == {"ask": f"users/{head_id}"}
    assert created.id not in error.details()
    error = refused(ops[1].CreateCustomer, customer_request(name), grpc.StatusCode.ALREADY_EXISTS)
    assert details_of(error)["metadata"] == {"resource": created.name}
    assert written(query) == before


def test_a_capture_flagged_against_a_lead_the_caller_may_not_see_does_not_name_it(team, ops, as_user, query):
    head_id, (_, rep) = team
    p = phone()
    original = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"原件{uuid.uuid4().hex[:6]}", contact_name="李雷", phone=p)))
    _, stranger = as_user()
    flagged, trailers = with_trailers(stranger, "CreateLead", leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company="别的公司", contact_name="韩梅梅", phone=p)))
    assert flagged.name and not flagged.duplicate_of and trailers["ask"] == f"users/{head_id}"
    assert original.id not in str(flagged) and original.id not in str(trailers)
    assert stranger.GetLead(leads_pb2.GetLeadRequest(name=flagged.name)).duplicate_of == ""
    listed = stranger.ListLeads(leads_pb2.ListLeadsRequest(page_size=200)).leads
    assert [lead.duplicate_of for lead in listed if lead.name == flagged.name] == [""]
    # The flag is kept for review: whoever may see the original is told which it is.
    assert ops[1].GetLead(leads_pb2.GetLeadRequest(name=flagged.name)).duplicate_of == original.name
    assert str(query("SELECT duplicate_of FROM leads WHERE id = :i", i=flagged.id)[0][0]) == original.id


def test_lead_held_says_whom_to_ask_and_nothing_of_the_holder(team, as_user, org):
    head_id, (rep_id, rep) = team
    name = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"公海{uuid.uuid4().hex[:6]}", contact_name="王五", phone=phone()), to_pool=True)).name
    rep.ClaimLeads(leads_pb2.ClaimLeadsRequest(names=[name]))
    _, rival = as_user(org.user(roles=("sales_rep",)))
    error = refused(rival.ClaimLeads, leads_pb2.ClaimLeadsRequest(names=[name]), grpc.StatusCode.FAILED_PRECONDITION)
    details = details_of(error)
    assert details["reason"] == "LEAD_HELD" and details["metadata"] == {"resources": name, "ask": f"users/{head_id}"}
    assert rep_id not in error.details()


# --- admin-only calls look at the caller first ----------------------------------------------------

def test_admin_only_calls_refuse_a_non_admin_before_reading_their_input(as_user, query):
    _, rep = as_user()
    before = written(query)
    refused(rep.UpdateLeadSettings, leads_pb2.UpdateLeadSettingsRequest(
        settings=leads_pb2.LeadSettings(claim_cap=-1), update_mask=field_mask_pb2.FieldMask(paths=["nonsense"])),
        grpc.StatusCode.PERMISSION_DENIED)
    refused(rep.CreateCampaign, leads_pb2.CreateCampaignRequest(campaign=leads_pb2.Campaign(cost="lots")),
            grpc.StatusCode.PERMISSION_DENIED)
    refused(rep.AutoAssignLead, leads_pb2.AutoAssignLeadRequest(name="not a lead"), grpc.StatusCode.PERMISSION_DENIED)
    refused(rep.UpdateCampaign, leads_pb2.UpdateCampaignRequest(
        campaign=leads_pb2.Campaign(name="not a name"), update_mask=field_mask_pb2.FieldMask(paths=["nonsense"])),
        grpc.StatusCode.PERMISSION_DENIED)
    assert written(query) == before


# --- the domain's rules on bad input: every bad field, nothing written --------------------------------

def test_recycle_periods_the_worker_could_not_compute_are_refused(lead_settings, worker):
    before = lead_settings.caller.GetLeadSettings(leads_pb2.GetLeadSettingsRequest())
    with pytest.raises(grpc.RpcError) as exc:
        lead_settings.set(recycle_after_days_without_follow_up=2**31 - 1, reclaim_bar_days=10**9,
                          recycle_after_days_unconverted=5_000_000)
    error = exc.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(details_of(error)["fields"]) == ["settings.reclaim_bar_days",
                                                   "settings.recycle_after_days_unconverted",
                                                   "settings.recycle_after_days_without_follow_up"]
    assert lead_settings.caller.GetLeadSettings(leads_pb2.GetLeadSettingsRequest()) == before
    worker.recycle_leads()  # still runs on the settings in force


def test_import_refuses_repeated_row_numbers_naming_each_and_writes_nothing(as_user, query):
    _, rep = as_user()
    header = leads_pb2.ImportHeader(columns=["company", "contact_name", "phone"], file_name="twice.csv")
    rows = [(2, ["甲", "张三", phone()]), (3, ["乙", "李四", phone()]), (2, ["丙", "王五", phone()]),
            (3, ["丁", "赵六", phone()])]

    def stream():
        yield leads_pb2.ImportLeadsRequest(header=header)
        yield leads_pb2.ImportLeadsRequest(rows=leads_pb2.ImportRows(rows=[
            leads_pb2.ImportRow(row_number=n, values=v) for n, v in rows]))

    before = written(query)
    error = refused(rep.ImportLeads, stream(), grpc.StatusCode.INVALID_ARGUMENT)
    assert details_of(error)["fields"] == ["rows[2].row_number", "rows[3].row_number"]
    assert written(query) == before


def test_an_import_cell_holding_a_nul_rejects_its_row_only(as_user, query):
    _, rep = as_user()
    company = f"零字节{uuid.uuid4().hex[:6]}"
    header = leads_pb2.ImportHeader(columns=["company", "contact_name", "phone"], file_name="nul.csv")

    def stream():
        yield leads_pb2.ImportLeadsRequest(header=header)
        yield leads_pb2.ImportLeadsRequest(rows=leads_pb2.ImportRows(rows=[
            leads_pb2.ImportRow(row_number=2, values=[company, "张\x00三", phone()]),
            leads_pb2.ImportRow(row_number=3, values=[company, "李四", phone()])]))

    report = rep.ImportLeads(stream())
    assert (report.accepted, report.rejected, report.committed) == (1, 1, True)
    assert [(r.row_number, r.field) for r in report.rejections] == [(2, "contact_name")]
    assert query("SELECT contact_name FROM leads WHERE company = :c", c=company) == [("李四",)]


def test_record_behaviour_names_a_bad_type_and_an_out_of_range_time_together(as_user, query):
    _, rep = as_user()
    lead = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
        company=f"行为{uuid.uuid4().hex[:6]}", contact_name="钱七", phone=phone())))
    before = written(query)
    for seconds in (-62_135_596_800 - 86_400, 253_402_300_800 + 86_400, -2_208_988_800):  # year 0, 10000, 1900
        error = refused(rep.RecordLeadBehaviour, leads_pb2.RecordLeadBehaviourRequest(
            name=lead.name, type="dance", occur_time=Timestamp(seconds=seconds)), grpc.StatusCode.INVALID_ARGUMENT)
        assert details_of(error)["fields"] == ["type", "occur_time"], seconds
    assert written(query) == before


def test_customer_calls_name_the_owner_and_the_customers_own_bad_fields_together(as_user, query):
    _, rep = as_user()
    before = written(query)
    error = refused(rep.CreateCustomer, leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(
        display_name="", grade="Z", owner="people/1")), grpc.StatusCode.INVALID_ARGUMENT)
    assert details_of(error)["fields"] == ["customer.display_name", "customer.grade", "customer.owner"]
    created = rep.CreateCustomer(customer_request(f"改名{uuid.uuid4().hex[:6]}"))
    error = refused(rep.UpdateCustomer, leads_pb2.UpdateCustomerRequest(
        customer=leads_pb2.Customer(name=created.name, size="x" * 51, owner="nobody"),
        update_mask=field_mask_pb2.FieldMask(paths=["size", "owner"])), grpc.StatusCode.INVALID_ARGUMENT)
    assert details_of(error)["fields"] == ["customer.size", "customer.owner"]
    assert written(query)[:3] == (before[0], before[1] + 1, before[2])


def test_an_over_long_request_id_is_named_with_the_other_bad_fields(as_user, query):
    _, rep = as_user()
    before = written(query)
    error = refused(rep.CreateLead, leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(company="", contact_name="x",
                                                                                    phone=phone()),
                                                                request_id="r" * 10_000),
                    grpc.StatusCode.INVALID_ARGUMENT)
    assert sorted(details_of(error)["fields"]) == ["lead.company", "request_id"]
    customer = rep.CreateCustomer(customer_request(f"长键{uuid.uuid4().hex[:6]}"))
    error = refused(rep.CreateContact, contact_request(customer.name, "r" * 10_000), grpc.StatusCode.INVALID_ARGUMENT)
    assert details_of(error)["fields"] == ["request_id"]
    assert written(query)[0] == before[0] and written(query)[2] == before[2]
