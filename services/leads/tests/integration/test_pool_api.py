"""The lead pool through the front in-process, against the session's real leads database: creating into
the pool, claiming, returning, assigning, follow-ups; recycling through the use case with chosen clocks."""

import threading
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from leads import bootstrap
from leads.adapters.settings_repository import PoolSettingsRepository
from leads.service_layer import pool
from shangji.leads.v1 import leads_pb2
from shangji_kit import process_cache
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing.service_db import ServiceDb

SALES = ("sales_rep",)


DB = ServiceDb("leads")
scalar = DB.scalar
execute = DB.execute


def events(event_type: str, subject: str) -> list[dict]:
    return [r.data for r in DB.rows("SELECT data FROM outbox WHERE type = :t AND subject = :s ORDER BY position",
                                    t=f"shangji.leads.v1.{event_type}", s=subject)]


def snapshot(*lead_names: str) -> tuple:
    """Row counts and the state of the given leads: equal before and after a refused call."""
    ids = [n.split("/")[1] for n in lead_names]
    counts = tuple(DB.count(t) for t in ("leads", "outbox", "follow_ups"))
    rows = [tuple(r) for r in DB.rows(
        "SELECT id, owner_id, version, hold_time, previous_owner_id FROM leads WHERE id = ANY(:ids) ORDER BY id",
        ids=ids)]
    return counts, rows


def refused(call, request, code: grpc.StatusCode) -> dict:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    assert exc.value.code() == code, exc.value.details()
    return details_of(exc.value) | {"message": exc.value.details()}


def new_lead(**kw) -> leads_pb2.Lead:
    fields = {"company": "Ningbo Port Logistics", "contact_name": "Chen Li", "phone": "139 0013 9000",
              "region": "华东", "industry": "logistics"}
    fields.update(kw)
    return leads_pb2.Lead(**fields)


def into_pool(leads, **kw) -> leads_pb2.Lead:
    return leads.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead(**kw), to_pool=True))


def claim(leads, *names: str) -> list[leads_pb2.Lead]:
    return list(leads.ClaimLeads(leads_pb2.ClaimLeadsRequest(names=list(names))).leads)


@pytest.fixture
def sales(as_user, org):
    """A new active sales rep (in no department unless given): ``user_id, leads = sales()``."""

    def make(department=None, roles=SALES):
        return as_user(org.user(department, roles=roles))

    return make


@pytest.fixture
def pool_settings(shangji_env):
    """``pool_settings(claim_cap=2, ...)`` for one test; the defaults come back afterwards."""

    def change(**values) -> None:
        assignments = ", ".join(f"{k} = :{k}" for k in values)
        execute(f"UPDATE pool_settings SET {assignments} WHERE company = 'default'", **values)

    yield change
    change(claim_cap=50, recycle_after_days_without_follow_up=7, recycle_after_days_unconverted=30,
           reclaim_bar_days=3)


@pytest.fixture
def uow(shangji_env):
    return bootstrap.uow_factory(Settings.for_service("leads"))


# --- into the pool and who sees it --------------------------------------------------------------

def test_a_lead_created_into_the_pool_is_unassigned_and_every_active_sales_user_sees_it(sales, as_user, org):
    _, marketing = as_user(org.user(roles=("marketing",)))
    lead = into_pool(marketing)
    assert lead.owner == "" and not lead.HasField("hold_time") and lead.industry == "logistics"
    assert events("LeadCreated", lead.name)[0]["lead"]["name"] == lead.name
    _, rep = sales()
    assert rep.GetLead(leads_pb2.GetLeadRequest(name=lead.name)) == lead
    listed = rep.ListLeads(leads_pb2.ListLeadsRequest(page_size=200, in_pool=True)).leads
    assert lead.name in [one.name for one in listed] and all(one.owner == "" for one in listed)
    # A rep's own list is what they hold: the pool is listed only when asked for.
    assert lead.name not in [one.name for one in rep.ListLeads(leads_pb2.ListLeadsRequest(page_size=200)).leads]
    # Not a sales role, a stranger teams has not told us about, a deactivated rep: the pool is hidden.
    for _, leads in (as_user(org.user(roles=("service",))), as_user()):
        refused(leads.GetLead, leads_pb2.GetLeadRequest(name=lead.name), grpc.StatusCode.NOT_FOUND)
        assert leads.ListLeads(leads_pb2.ListLeadsRequest(in_pool=True)).leads == []
    gone_id, gone = sales()
    org.deactivate(gone_id)
    refused(gone.GetLead, leads_pb2.GetLeadRequest(name=lead.name), grpc.StatusCode.PERMISSION_DENIED)  # the front


def test_a_pool_lead_with_an_owner_is_invalid_and_nothing_is_written(sales):
    _, rep = sales()
    before = snapshot()
    details = refused(rep.CreateLead, leads_pb2.CreateLeadRequest(
        lead=new_lead(owner="users/0b6f1b55-3f0e-4a8e-9a53-2f4c1f3f8d11"), to_pool=True),
        grpc.StatusCode.INVALID_ARGUMENT)
    assert details["fields"] == ["lead.owner"]
    assert snapshot() == before


# --- claiming -------------------------------------------------------------------------------------

def test_claiming_several_takes_them_all_with_one_event_each(sales):
    rep_id, rep = sales()
    names = [into_pool(rep).name for _ in range(3)]
    claimed = claim(rep, *names, names[0])  # a name twice counts once
    assert [lead.name for lead in claimed] == names
    assert {lead.owner for lead in claimed} == {f"users/{rep_id}"}
    assert all(lead.HasField("hold_time") and lead.etag == "2" for lead in claimed)
    for name in names:
        [event] = events("LeadClaimed", name)
        assert event["lead"]["owner"] == f"users/{rep_id}"


def test_a_lead_someone_holds_is_refused_as_held_naming_nobody_and_nothing_changes(sales):
    holder_id, holder = sales()
    _, rival = sales()
    free, taken = into_pool(holder).name, into_pool(holder).name
    claim(holder, taken)
    before = snapshot(free, taken)
    details = refused(rival.ClaimLeads, leads_pb2.ClaimLeadsRequest(names=[free, taken]),
                      grpc.StatusCode.FAILED_PRECONDITION)
    assert details["reason"] == "LEAD_HELD" and details["metadata"]["resources"] == taken
    assert holder_id not in details["message"] and holder_id not in str(details["metadata"])
    assert snapshot(free, taken) == before  # all or nothing: the free one stays in the pool


def test_a_cap_exceeded_is_refused_with_the_numbers_and_nothing_changes(sales, pool_settings):
    pool_settings(claim_cap=3)
    _, rep = sales()
    own = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead()))  # captured: held, counts
    first = into_pool(rep).name
    claim(rep, first)
    names = [into_pool(rep).name for _ in range(2)]
    before = snapshot(*names)
    details = refused(rep.ClaimLeads, leads_pb2.ClaimLeadsRequest(names=names), grpc.StatusCode.FAILED_PRECONDITION)
    assert details["reason"] == "CLAIM_CAP_EXCEEDED"
    assert details["metadata"] == {"held": "2", "requested": "2", "cap": "3"}
    assert snapshot(*names) == before
    # A converted lead no longer counts.
    rep.ConvertLead(leads_pb2.ConvertLeadRequest(name=own.name))
    assert len(claim(rep, *names)) == 2


def test_the_front_keeps_the_settings_and_the_next_call_sees_a_committed_change(sales, pool_settings):
    """The front reads the pool settings once per process (``process_cache``); an operator's UPDATE, committed
    outside the service, is what the very next call obeys, in both directions."""
    pool_settings(claim_cap=1)
    _, rep = sales()
    first, second = into_pool(rep).name, into_pool(rep).name
    cache = process_cache.for_database(Settings.for_service("leads").database_url)
    assert cache.wait_listening()
    claim(rep, first)
    kept = cache.get(PoolSettingsRepository.CACHE_NAME, lambda: pytest.fail("the front read the database again"))
    assert kept[0].claim_cap == 1
    assert refused(rep.ClaimLeads, leads_pb2.ClaimLeadsRequest(names=[second]),
                   grpc.StatusCode.FAILED_PRECONDITION)["metadata"]["cap"] == "1"
    pool_settings(claim_cap=2)
    assert [lead.name for lead in claim(rep, second)] == [second]
    pool_settings(claim_cap=1)
    third = into_pool(rep).name
    assert refused(rep.ClaimLeads, leads_pb2.ClaimLeadsRequest(names=[third]),
                   grpc.StatusCode.FAILED_PRECONDITION)["metadata"]["held"] == "2"


def test_claims_of_missing_or_malformed_leads_and_by_non_sales_users_are_refused(sales, as_user, org):
    _, rep = sales()
    lead = into_pool(rep).name
    before = snapshot(lead)
    missing = "leads/00000000-0000-4000-8000-000000000000"
    details = refused(rep.ClaimLeads, leads_pb2.ClaimLeadsRequest(names=[lead, missing]), grpc.StatusCode.NOT_FOUND)
    assert details["metadata"]["resource"] == missing
    details = refused(rep.ClaimLeads, leads_pb2.ClaimLeadsRequest(names=[lead, "leads/x", "opportunities/1"]),
                      grpc.StatusCode.INVALID_ARGUMENT)
    assert details["fields"] == ["names[1]", "names[2]"]
    assert refused(rep.ClaimLeads, leads_pb2.ClaimLeadsRequest(), grpc.StatusCode.INVALID_ARGUMENT)["fields"] == [
        "names"]
    _, service = as_user(org.user(roles=("service",)))
    details = refused(service.ClaimLeads, leads_pb2.ClaimLeadsRequest(names=[lead]),
                      grpc.StatusCode.PERMISSION_DENIED)
    assert details["reason"] == "NOT_A_SALES_USER"
    assert snapshot(lead) == before


# --- returning ------------------------------------------------------------------------------------

def test_the_holder_returns_a_lead_with_a_listed_reason_and_it_is_back_in_the_pool(sales):
    rep_id, rep = sales()
    name = into_pool(rep).name
    claim(rep, name)
    returned = rep.ReturnLead(leads_pb2.ReturnLeadRequest(name=name, reason="unreachable"))
    assert returned.owner == "" and not returned.HasField("hold_time") and returned.etag == "3"
    [event] = events("LeadReturned", name)
    assert (event["previousOwner"], event["reason"]) == (f"users/{rep_id}", "unreachable")
    assert len(claim(rep, name)) == 1  # no bar after a return


def test_a_reason_not_in_the_list_is_invalid_and_nothing_changes(sales):
    _, rep = sales()
    name = into_pool(rep).name
    claim(rep, name)
    before = snapshot(name)
    for reason in ("bored", ""):
        details = refused(rep.ReturnLead, leads_pb2.ReturnLeadRequest(name=name, reason=reason),
                          grpc.StatusCode.INVALID_ARGUMENT)
        assert details["fields"] == ["reason"]
    assert snapshot(name) == before


def test_returning_a_lead_you_do_not_hold_is_denied_or_not_found_by_visibility(sales, org, as_user):
    department, boss_id = org.head()
    holder_id, holder = sales(department)
    _, boss = as_user(boss_id)
    _, stranger = sales()
    held = holder.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead())).name
    in_pool = into_pool(holder).name
    before = snapshot(held, in_pool)
    request = leads_pb2.ReturnLeadRequest(name=held, reason="other")
    assert refused(stranger.ReturnLead, request, grpc.StatusCode.NOT_FOUND)["metadata"]["resource"] == held
    refused(boss.ReturnLead, request, grpc.StatusCode.PERMISSION_DENIED)  # sees it, does not hold it
    refused(stranger.ReturnLead, leads_pb2.ReturnLeadRequest(name=in_pool, reason="other"),
            grpc.StatusCode.PERMISSION_DENIED)  # sees the pool, holds nothing
    assert snapshot(held, in_pool) == before


# --- assigning by hand ----------------------------------------------------------------------------

def test_a_manager_above_the_assignee_and_sales_ops_assign_batches(sales, org, as_user):
    department = org.department()
    boss_id, boss = sales(department, roles=("sales_manager",))
    org.change_department(department, head=boss_id)
    rep_id, rep = sales(department)
    names = [into_pool(rep).name for _ in range(2)]
    assigned = boss.AssignLeads(leads_pb2.AssignLeadsRequest(names=names, assignee=f"users/{rep_id}")).leads
    assert {lead.owner for lead in assigned} == {f"users/{rep_id}"}
    for name in names:
        [event] = events("LeadAssigned", name)
        assert (event.get("previousOwner", ""), event["assignedBy"]) == ("", f"users/{boss_id}")
    # Sales ops moves a held lead to someone else; the new holding starts now.
    other_id, _ = sales()
    _, ops = as_user(org.user(roles=("sales_ops",)))
    [moved] = ops.AssignLeads(leads_pb2.AssignLeadsRequest(names=names[:1], assignee=f"users/{other_id}")).leads
    assert moved.owner == f"users/{other_id}"
    assert events("LeadAssigned", names[0])[-1]["previousOwner"] == f"users/{rep_id}"


def test_assigning_without_the_right_or_to_an_unknown_or_inactive_user_changes_nothing(sales, org):
    rep_id, rep = sales()
    peer_id, _ = sales()
    gone_id, _ = sales()
    org.deactivate(gone_id)
    name = into_pool(rep).name
    before = snapshot(name)
    request = leads_pb2.AssignLeadsRequest(names=[name], assignee=f"users/{peer_id}")
    refused(rep.AssignLeads, request, grpc.StatusCode.PERMISSION_DENIED)
    unknown = leads_pb2.AssignLeadsRequest(names=[name], assignee="users/00000000-0000-4000-8000-000000000000")
    assert refused(rep.AssignLeads, unknown, grpc.StatusCode.INVALID_ARGUMENT)["fields"] == ["assignee"]
    inactive = leads_pb2.AssignLeadsRequest(names=[name], assignee=f"users/{gone_id}")
    assert refused(rep.AssignLeads, inactive, grpc.StatusCode.FAILED_PRECONDITION)["reason"] == "INACTIVE_USER"
    assert snapshot(name) == before


# --- follow-ups -----------------------------------------------------------------------------------

def test_the_holder_records_follow_ups_and_the_lead_shows_its_first_response_time(sales):
    rep_id, rep = sales()
    name = into_pool(rep).name
    [claimed] = claim(rep, name)
    follow_up = rep.AddFollowUp(leads_pb2.AddFollowUpRequest(name=name, kind=leads_pb2.FollowUp.Kind.CALL,
                                                             note=" asked for a quote "))
    assert follow_up.name.startswith(f"{name}/followUps/") and follow_up.note == "asked for a quote"
    assert follow_up.author == f"users/{rep_id}" and follow_up.kind == leads_pb2.FollowUp.Kind.CALL
    rep.AddFollowUp(leads_pb2.AddFollowUpRequest(name=name, kind=leads_pb2.FollowUp.Kind.VISIT))
    lead = rep.GetLead(leads_pb2.GetLeadRequest(name=name))
    first = follow_up.create_time.ToDatetime() - claimed.hold_time.ToDatetime()
    assert lead.first_response_time.ToTimedelta() == first
    assert lead.last_follow_up_time.ToDatetime() > follow_up.create_time.ToDatetime()
    assert len(events("FollowUpAdded", name)) == 2
    assert scalar("SELECT count(*) FROM follow_ups WHERE lead_id = :id", id=lead.id) == 2


def test_follow_ups_by_others_or_with_a_bad_kind_are_refused_and_nothing_changes(sales, as_user):
    _, rep = sales()
    _, other = sales()
    held = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead())).name
    in_pool = into_pool(rep).name
    before = snapshot(held, in_pool)
    call = leads_pb2.FollowUp.Kind.CALL
    refused(other.AddFollowUp, leads_pb2.AddFollowUpRequest(name=held, kind=call), grpc.StatusCode.NOT_FOUND)
    refused(other.AddFollowUp, leads_pb2.AddFollowUpRequest(name=in_pool, kind=call),
            grpc.StatusCode.PERMISSION_DENIED)
    details = refused(rep.AddFollowUp, leads_pb2.AddFollowUpRequest(name=held, note="n" * 2001),
                      grpc.StatusCode.INVALID_ARGUMENT)
    assert details["fields"] == ["kind", "note"]
    assert snapshot(held, in_pool) == before


# --- recycling with chosen clocks -----------------------------------------------------------------

def test_recycling_warns_once_a_day_ahead_then_returns_the_lead_and_bars_the_previous_owner(sales, uow):
    rep_id, rep = sales()
    _, rival = sales()
    name = into_pool(rep).name
    [claimed] = claim(rep, name)
    held_at = claimed.hold_time.ToDatetime(tzinfo=UTC)
    pool.recycle(held_at + timedelta(days=5), uow())
    assert events("LeadRecycleWarning", name) == []
    for _ in range(2):  # the worker's timer runs every minute: one warning per deadline
        pool.recycle(held_at + timedelta(days=6, hours=1), uow())
    [warning] = events("LeadRecycleWarning", name)
    assert warning["rule"] == "NO_FOLLOW_UP"
    assert warning["recycleTime"].startswith((held_at + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S"))
    assert rep.GetLead(leads_pb2.GetLeadRequest(name=name)).owner == f"users/{rep_id}"

    # Recycled at the deadline: the bar lasts 3 days from then, so the real clock (ClaimLeads') is inside it.
    recycled_at = held_at + timedelta(days=7)
    pool.recycle(recycled_at, uow())
    [event] = events("LeadRecycled", name)
    assert (event["previousOwner"], event["rule"], event["lead"].get("owner", "")) == (f"users/{rep_id}",
                                                                                       "NO_FOLLOW_UP", "")
    before = snapshot(name)
    details = refused(rep.ClaimLeads, leads_pb2.ClaimLeadsRequest(names=[name]), grpc.StatusCode.FAILED_PRECONDITION)
    assert details["reason"] == "RECLAIM_BARRED"
    assert details["metadata"]["barred_until"].startswith((recycled_at + timedelta(days=3)).date().isoformat())
    assert snapshot(name) == before
    assert len(claim(rival, name)) == 1


def test_a_lead_not_converted_within_the_window_is_recycled_despite_follow_ups(sales, uow, pool_settings):
    pool_settings(recycle_after_days_without_follow_up=0, recycle_after_days_unconverted=30)
    rep_id, rep = sales()
    name = into_pool(rep).name
    [claimed] = claim(rep, name)
    rep.AddFollowUp(leads_pb2.AddFollowUpRequest(name=name, kind=leads_pb2.FollowUp.Kind.EMAIL))
    held_at = claimed.hold_time.ToDatetime(tzinfo=UTC)
    pool.recycle(held_at + timedelta(days=29, hours=1), uow())
    assert [e["rule"] for e in events("LeadRecycleWarning", name)] == ["UNCONVERTED"]
    assert events("LeadRecycled", name) == []
    pool.recycle(held_at + timedelta(days=30), uow())
    [event] = events("LeadRecycled", name)
    assert event["rule"] == "UNCONVERTED"
    assert rep.GetLead(leads_pb2.GetLeadRequest(name=name)).owner == ""


def test_converted_leads_are_never_recycled(sales, uow):
    _, rep = sales()
    lead = rep.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead()))
    rep.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name))
    pool.recycle(datetime.now(UTC) + timedelta(days=400), uow())
    assert events("LeadRecycled", lead.name) == [] and events("LeadRecycleWarning", lead.name) == []


# --- assignment rules -----------------------------------------------------------------------------

def auto(leads, name: str) -> leads_pb2.Lead:
    return leads.AutoAssignLead(leads_pb2.AutoAssignLeadRequest(name=name))


def test_reps_profiles_come_from_teams_user_events(org, query):
    rep_id = org.user(roles=SALES, territories=["华东"], expertise=["textiles"], capacity=5)
    assert [tuple(r) for r in query("SELECT territories, expertise, capacity FROM reps WHERE user_id = :u",
                                    u=rep_id)] == [(["华东"], ["textiles"], 5)]
    org.update(rep_id, territories=["华南", "华东"], capacity=0)
    assert [tuple(r) for r in query("SELECT territories, capacity FROM reps WHERE user_id = :u", u=rep_id)] == [
        (["华南", "华东"], 0)]


def test_auto_assignment_follows_territory_expertise_workload_and_round_robin(sales, org, as_user):
    department = org.department()
    head_id, head = sales(department, roles=("sales_manager",))
    org.change_department(department, head=head_id)
    org.update(head_id, capacity=1)
    head.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead()))  # the head is full
    a = org.user(department, roles=SALES, territories=["华东"], expertise=["textiles"])
    b = org.user(department, roles=SALES, territories=["华东"])
    c = org.user(department, roles=SALES)
    gone = org.user(department, roles=SALES, territories=["华东"], expertise=["textiles"])
    org.deactivate(gone)

    def assign(region: str, industry: str) -> tuple[str, list[str]]:
        lead = auto(head, into_pool(head, region=region, industry=industry).name)
        [event] = events("LeadAssigned", lead.name)
        assert event["assignedBy"] == f"users/{head_id}" and lead.HasField("hold_time")
        return lead.owner.split("/")[1], event["rules"]

    assert assign("华东", "textiles") == (a, ["TERRITORY", "EXPERTISE", "ROUND_ROBIN"])
    assert assign("华东", "chemicals") == (b, ["TERRITORY", "ROUND_ROBIN"])  # b not yet assigned, a just was
    assert assign("西北", "") == (c, ["WORKLOAD", "ROUND_ROBIN"])  # the full head dropped; c never assigned
    assert assign("西北", "") == (a, ["WORKLOAD", "ROUND_ROBIN"])  # a assigned longest ago
    org.update(c, territories=["西北"])
    assert assign("西北", "") == (c, ["TERRITORY", "ROUND_ROBIN"])


def test_auto_assignment_refusals_change_nothing(sales, org):
    department = org.department()
    head_id, head = sales(department, roles=("sales_manager",))
    org.change_department(department, head=head_id)
    org.update(head_id, capacity=1)
    rep_id, rep = sales(department)
    org.update(rep_id, capacity=1)
    rep.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead()))
    held = head.CreateLead(leads_pb2.CreateLeadRequest(lead=new_lead())).name
    in_pool = into_pool(head).name
    before = snapshot(held, in_pool)
    assert refused(head.AutoAssignLead, leads_pb2.AutoAssignLeadRequest(name=in_pool),
                   grpc.StatusCode.FAILED_PRECONDITION)["reason"] == "NO_ELIGIBLE_REP"  # everyone full
    assert refused(head.AutoAssignLead, leads_pb2.AutoAssignLeadRequest(name=held),
                   grpc.StatusCode.FAILED_PRECONDITION)["reason"] == "LEAD_HELD"
    refused(rep.AutoAssignLead, leads_pb2.AutoAssignLeadRequest(name=in_pool), grpc.StatusCode.PERMISSION_DENIED)
    refused(head.AutoAssignLead, leads_pb2.AutoAssignLeadRequest(name="leads/00000000-0000-4000-8000-000000000000"),
            grpc.StatusCode.NOT_FOUND)
    assert snapshot(held, in_pool) == before


def test_the_worker_runs_the_recycle_rules_on_its_timer(worker, sales):
    """The timer's entry point applies the rules on the real clock: a lead held 8 days without a follow-up
    goes back to the pool, one claimed just now stays with its holder."""
    rep_id, rep = sales()
    overdue, fresh = into_pool(rep).name, into_pool(rep).name
    claim(rep, overdue, fresh)
    execute("UPDATE leads SET hold_time = now() - interval '8 days' WHERE id = :id", id=overdue.split("/")[1])
    worker.recycle_leads()
    [event] = events("LeadRecycled", overdue)
    assert (event["previousOwner"], event["rule"]) == (f"users/{rep_id}", "NO_FOLLOW_UP")
    assert rep.GetLead(leads_pb2.GetLeadRequest(name=fresh)).owner == f"users/{rep_id}"
    assert events("LeadRecycled", fresh) == []


def test_two_reps_racing_for_one_lead_one_wins_and_the_other_is_told_it_is_held(sales):
    reps = [sales()[1] for _ in range(2)]
    for _ in range(5):
        name = into_pool(reps[0]).name
        outcomes: list = []
        start = threading.Barrier(2)

        def take(leads, name=name, outcomes=outcomes, start=start):
            start.wait()
            try:
                claim(leads, name)
                outcomes.append("won")
            except grpc.RpcError as exc:
                outcomes.append(details_of(exc)["reason"])

        threads = [threading.Thread(target=take, args=(leads,)) for leads in reps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["LEAD_HELD", "won"]
        assert len(events("LeadClaimed", name)) == 1
