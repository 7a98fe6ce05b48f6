"""The pool's rules without I/O: claim checks and caps, returns, assignment, follow-ups, recycle timing."""

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest

from leads.domain import model, pool
from shangji_kit.errors import FailedPrecondition, InvalidArgument

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
REP, OTHER, BOSS = ("0b6f1b55-3f0e-4a8e-9a53-2f4c1f3f8d11", "1c7f2c66-4f1f-4b9f-8b64-3f5d2f4f9e22",
                    "2d8f3d77-5f2f-4c0f-9c75-4f6e3f5f0f33")
SETTINGS = pool.PoolSettings()


def lead(owner=None, *, id="l1", now=T0) -> model.Lead:
    made = model.new_lead(id=id, company="Acme", contact_name="Li Lei", phone="13800138000", email="",
                          region="华东", source="web", owner_id=owner, now=now, industry=" textiles ")
    made.events.clear()
    return made


def held(owner=REP, at=T0, **kw) -> model.Lead:
    one = lead(**kw)
    pool.claim(one, owner, at)
    one.events.clear()
    return one


def test_a_lead_without_owner_is_in_the_pool_and_a_captured_one_is_held_from_creation():
    assert lead().owner_id is None and lead().hold_time is None
    assert lead(REP).hold_time == T0
    assert lead().industry == "textiles"


def test_claim_takes_the_lead_starts_a_holding_and_records_an_event():
    one = lead()
    pool.check_claim([one], REP, open_held=0, settings=SETTINGS, now=T0)
    pool.claim(one, REP, T0)
    assert (one.owner_id, one.hold_time, one.version) == (REP, T0, 2)
    assert [type(e) for e in one.events] == [pool.LeadClaimed]


def test_a_held_lead_cannot_be_claimed_and_the_error_says_nothing_about_the_holder():
    with pytest.raises(FailedPrecondition) as exc:
        pool.check_claim([lead(), held(OTHER, id="l2")], REP, 0, SETTINGS, T0)
    assert exc.value.reason == "LEAD_HELD"
    assert OTHER not in exc.value.message and OTHER not in str(exc.value.metadata)
    assert exc.value.metadata["resources"] == "leads/l2"


@pytest.mark.parametrize(("held_now", "asked", "ok"), [(48, 2, True), (49, 2, False), (50, 1, False), (0, 50, True)])
def test_the_cap_counts_open_leads_held_plus_those_asked_for(held_now, asked, ok):
    leads = [lead(id=f"l{i}") for i in range(asked)]
    if ok:
        pool.check_claim(leads, REP, held_now, SETTINGS, T0)
        return
    with pytest.raises(FailedPrecondition) as exc:
        pool.check_claim(leads, REP, held_now, SETTINGS, T0)
    assert exc.value.reason == "CLAIM_CAP_EXCEEDED"
    assert exc.value.metadata == {"held": str(held_now), "requested": str(asked), "cap": "50"}


def test_the_previous_owner_is_barred_until_the_bar_ends_and_others_are_not():
    one = held()
    pool.apply_recycle_rules(one, SETTINGS, T0 + timedelta(days=7))
    until = T0 + timedelta(days=10)
    assert one.reclaim_barred_until == until
    with pytest.raises(FailedPrecondition) as exc:
        pool.check_claim([one], REP, 0, SETTINGS, until - timedelta(seconds=1))
    assert exc.value.reason == "RECLAIM_BARRED" and exc.value.metadata["barred_until"] == until.isoformat()
    pool.check_claim([one], OTHER, 0, SETTINGS, T0 + timedelta(days=8))
    pool.check_claim([one], REP, 0, SETTINGS, until)


def test_a_return_needs_a_reason_from_the_list_and_releases_the_lead_without_a_bar():
    with pytest.raises(InvalidArgument) as exc:
        pool.check_reason("bored", SETTINGS)
    assert [v.field for v in exc.value.violations] == ["reason"]
    with pytest.raises(InvalidArgument):
        pool.check_reason(" ", SETTINGS)
    assert pool.check_reason(" unreachable ", SETTINGS) == "unreachable"
    one = held()
    pool.return_to_pool(one, "unreachable", T0 + timedelta(hours=1))
    assert (one.owner_id, one.previous_owner_id, one.hold_time, one.reclaim_barred_until) == (None, REP, None, None)
    [event] = one.events
    assert isinstance(event, pool.LeadReturned) and event.previous_owner_id == REP and event.reason == "unreachable"


def test_a_converted_lead_cannot_be_returned_or_assigned():
    one = held()
    one.convert(by_user_id=REP, title="", now=T0)
    with pytest.raises(FailedPrecondition) as exc:
        pool.return_to_pool(one, "other", T0)
    assert exc.value.reason == "LEAD_ALREADY_CONVERTED"
    with pytest.raises(FailedPrecondition):
        pool.check_assign([one])


def test_assigning_starts_a_new_holding_and_assigning_to_the_holder_changes_nothing():
    one = held(REP)
    assert pool.assign(one, REP, BOSS, T0) is False and one.events == [] and one.version == 2
    later = T0 + timedelta(days=2)
    assert pool.assign(one, OTHER, BOSS, later) is True
    assert (one.owner_id, one.hold_time, one.version) == (OTHER, later, 3)
    [event] = one.events
    assert (event.previous_owner_id, event.assigned_by) == (REP, BOSS)


def test_first_response_is_measured_from_the_holding_once_per_holding():
    one = held(at=T0)
    first = pool.FollowUp("f1", "l1", "CALL", "hello", REP, T0 + timedelta(hours=3))
    pool.add_follow_up(one, first)
    pool.add_follow_up(one, pool.FollowUp("f2", "l1", "VISIT", "", REP, T0 + timedelta(hours=9)))
    assert one.first_response_time == timedelta(hours=3)
    assert one.last_follow_up_time == T0 + timedelta(hours=9)
    pool.assign(one, OTHER, BOSS, T0 + timedelta(days=1))
    assert one.first_response_time is None


def test_follow_up_kind_and_note_are_checked():
    with pytest.raises(InvalidArgument) as exc:
        pool.check_follow_up("", "x" * 2001)
    assert [v.field for v in exc.value.violations] == ["kind", "note"]
    assert pool.check_follow_up("MEETING", " notes ") == "notes"


# --- recycle timing -------------------------------------------------------------------------------

def test_no_follow_up_for_seven_days_warns_a_day_ahead_once_then_recycles_with_a_bar():
    one = held(at=T0)
    due = T0 + timedelta(days=7)
    assert pool.recycle_due(one, SETTINGS) == pool.RecycleDue(pool.NO_FOLLOW_UP, due)
    assert pool.apply_recycle_rules(one, SETTINGS, due - timedelta(days=1, seconds=1)) is None
    assert pool.apply_recycle_rules(one, SETTINGS, due - timedelta(days=1)) == "WARNED"
    assert pool.apply_recycle_rules(one, SETTINGS, due - timedelta(hours=1)) is None
    [warning] = one.events
    assert isinstance(warning, pool.LeadRecycleWarning) and warning.recycle_time == due
    assert one.version == 2  # a warning changes no etag
    assert pool.apply_recycle_rules(one, SETTINGS, due) == "RECYCLED"
    recycled = one.events[-1]
    assert isinstance(recycled, pool.LeadRecycled) and recycled.rule == pool.NO_FOLLOW_UP
    assert (one.owner_id, one.previous_owner_id, one.reclaim_barred_until) == (None, REP, due + timedelta(days=3))
    assert pool.apply_recycle_rules(one, SETTINGS, due + timedelta(days=1)) is None  # in the pool: no rule


def test_a_follow_up_moves_the_no_follow_up_deadline_and_allows_a_new_warning():
    one = held(at=T0)
    assert pool.apply_recycle_rules(one, SETTINGS, T0 + timedelta(days=6)) == "WARNED"
    pool.add_follow_up(one, pool.FollowUp("f1", "l1", "CALL", "", REP, T0 + timedelta(days=6, hours=1)))
    assert pool.recycle_due(one, SETTINGS).time == T0 + timedelta(days=13, hours=1)
    assert pool.apply_recycle_rules(one, SETTINGS, T0 + timedelta(days=7)) is None
    assert pool.apply_recycle_rules(one, SETTINGS, T0 + timedelta(days=12, hours=1)) == "WARNED"


def test_not_converted_within_thirty_days_of_claiming_recycles_even_with_follow_ups():
    one = held(at=T0)
    for day in range(1, 30, 5):
        pool.add_follow_up(one, pool.FollowUp(f"f{day}", "l1", "CALL", "", REP, T0 + timedelta(days=day)))
    assert pool.recycle_due(one, SETTINGS) == pool.RecycleDue(pool.UNCONVERTED, T0 + timedelta(days=30))
    assert pool.apply_recycle_rules(one, SETTINGS, T0 + timedelta(days=30)) == "RECYCLED"
    assert one.events[-1].rule == pool.UNCONVERTED


def test_rules_with_zero_days_are_off_and_converted_or_pool_leads_are_never_recycled():
    off = pool.PoolSettings(recycle_after_days_without_follow_up=0, recycle_after_days_unconverted=0)
    assert pool.recycle_due(held(), off) is None
    converted = held()
    converted.convert(by_user_id=REP, title="", now=T0)
    assert pool.recycle_due(converted, SETTINGS) is None
    assert pool.recycle_due(lead(), SETTINGS) is None


# --- assignment rules -----------------------------------------------------------------------------

def rep(user_id, *, active=True, territories=(), expertise=(), capacity=0, open_leads=0, last=None):
    return pool.Candidate(user_id=user_id, active=active, territories=territories, expertise=expertise,
                          capacity=capacity, open_leads=open_leads, last_assigned_time=last)


def pooled(region="华东", industry="textiles"):
    one = lead()
    one.region, one.industry = region, industry
    return one


def test_territory_comes_first_then_expertise_narrows_within_it():
    reps = [rep("a", territories=("华南",), expertise=("textiles",)),
            rep("b", territories=("华东",)),
            rep("c", territories=("华东",), expertise=("textiles",))]
    assert pool.choose_assignee(pooled(), reps) == pool.Choice("c", (pool.TERRITORY, pool.EXPERTISE,
                                                                     pool.ROUND_ROBIN))
    # Expertise alone cannot pull a lead out of its territory.
    assert pool.choose_assignee(pooled(industry="chemicals"), reps).user_id == "b"


def test_a_rule_nobody_matches_is_passed_over():
    reps = [rep("a", expertise=("textiles",)), rep("b")]
    assert pool.choose_assignee(pooled(region="西北"), reps) == pool.Choice("a", (pool.EXPERTISE, pool.ROUND_ROBIN))
    assert pool.choose_assignee(pooled(region="", industry=""), reps) == pool.Choice("a", (pool.ROUND_ROBIN,))


def test_reps_at_capacity_are_dropped_and_zero_means_no_limit():
    reps = [rep("a", territories=("华东",), capacity=2, open_leads=2),
            rep("b", territories=("华东",), capacity=3, open_leads=2, last=T0),
            rep("c", capacity=0, open_leads=500)]
    assert pool.choose_assignee(pooled(), reps) == pool.Choice("b", (pool.TERRITORY, pool.WORKLOAD,
                                                                     pool.ROUND_ROBIN))
    assert pool.choose_assignee(pooled(), reps[:1]) is None  # everyone full: nobody
    # Outside every territory: a is full, c was never auto-assigned, so c before b.
    assert pool.choose_assignee(pooled(region="西北"), reps) == pool.Choice("c", (pool.WORKLOAD, pool.ROUND_ROBIN))


def test_round_robin_picks_the_least_recently_assigned_and_never_assigned_first():
    reps = [rep("a", last=T0 + timedelta(hours=2)), rep("b", last=T0), rep("c", last=T0 + timedelta(hours=1))]
    assert pool.choose_assignee(pooled(), reps).user_id == "b"
    assert pool.choose_assignee(pooled(), [*reps, rep("z")]).user_id == "z"


def test_inactive_reps_are_skipped_even_when_they_match_best():
    reps = [rep("a", active=False, territories=("华东",), expertise=("textiles",)), rep("b")]
    assert pool.choose_assignee(pooled(), reps) == pool.Choice("b", (pool.ROUND_ROBIN,))
    assert pool.choose_assignee(pooled(), reps[:1]) is None


def test_auto_assign_takes_a_pool_lead_and_records_the_rules():
    one = pooled()
    pool.auto_assign(one, pool.Choice(REP, (pool.TERRITORY, pool.ROUND_ROBIN)), BOSS, T0)
    assert (one.owner_id, one.hold_time) == (REP, T0)
    [event] = one.events
    assert event.rules == (pool.TERRITORY, pool.ROUND_ROBIN) and event.previous_owner_id is None
    with pytest.raises(FailedPrecondition) as exc:
        pool.auto_assign(one, pool.Choice(OTHER, (pool.ROUND_ROBIN,)), BOSS, T0)
    assert exc.value.reason == "LEAD_HELD"


@pytest.mark.parametrize(("seed", "ahead"), [(5, 0), (6, 0), (7, 200), (8, 100000)])
def test_round_robin_over_many_leads_answers_like_choose_assignee_one_at_a_time(seed, ahead):
    """``ahead``: some reps were last given a lead up to that many seconds after the run's times (another
    clock), so a rep just given one is not always the last in line."""
    rnd = random.Random(seed)
    regions, industries = ["华东", "华南", "华北", ""], ["textiles", "chemicals", ""]
    candidates = [pool.Candidate(user_id=f"u{i:02d}", active=rnd.random() > 0.1, away=rnd.random() < 0.1,
                                 territories=tuple(rnd.sample(regions[:3], rnd.randrange(3))),
                                 expertise=tuple(rnd.sample(industries[:2], rnd.randrange(2))),
                                 capacity=rnd.choice([0, 3, 6]), open_leads=rnd.randrange(4),
                                 last_assigned_time=rnd.choice([None, T0 - timedelta(hours=rnd.randrange(50)),
                                                                T0 + timedelta(seconds=rnd.randrange(ahead + 1))]))
                  for i in range(25)]
    fast = pool.RoundRobin(candidates)
    slow = {c.user_id: c for c in candidates}
    for n in range(300):
        subject = lead(id=f"l{n}")
        subject.region, subject.industry = rnd.choice(regions), rnd.choice(industries)
        expected = pool.choose_assignee(subject, list(slow.values()))
        assert fast.choose(subject) == expected
        if expected is None:
            continue
        when = T0 + timedelta(seconds=n)
        fast.taken(expected.user_id, when)
        c = slow[expected.user_id]
        slow[c.user_id] = dataclasses.replace(c, open_leads=c.open_leads + 1, last_assigned_time=when)
