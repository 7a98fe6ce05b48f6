"""THE property: for random organisations, deals and teams loaded into the real database, every user's list
(all pages) is exactly what an independent, pure-Python reading of the rules allows: never a denied deal,
never a hidden allowed one. Get and Update agree with the same oracle for one drawn caller and deal.

The rules (ARCHITECTURE.md section 6): a user sees a deal they own, a deal whose team they are on, a deal
owned by someone whose department lies at or below a department they head (while they are active), and
every deal when they are an active sales_ops or admin. A deactivated user sees only their own deals; a
user teams has not told us about yet sees their own and their teams' deals. Writers: the owner, team
members with can_edit, and active heads at or above the owner's department.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opportunities import bootstrap
from opportunities.adapters.orm import opportunities
from opportunities.service_layer import lifecycle
from shangji_kit.errors import NotFound, PermissionDenied
from shangji_kit.settings import Settings
from shangji_kit.testing import databases

GLOBAL = {"sales_ops", "admin"}
ROLES = ("sales_rep", "sales_manager", "sales_ops", "admin")
BASE = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    department: int | None  # index into departments
    roles: frozenset[str]
    active: bool
    known: bool  # False: teams has not told us about them yet (never projected)
    stale_echo: bool  # an older, different state of them arrives after the real one (must be ignored)


@dataclass(frozen=True)
class World:
    parents: list[int | None]  # department i's parent (an index below i), None for a root
    heads: list[int | None]  # department i's head (a person), or None
    people: list[Person]
    owners: list[int]  # deal i's owner (a person)
    ages: list[int]  # deal i was created this many seconds before BASE (ties on purpose)
    team: dict[tuple[int, int], bool]  # (deal, person) -> can_edit, after every add and removal
    added: list[tuple[int, int, bool]]  # every add, in order (some later removed)
    page_size: int
    probe: tuple[int, int]  # (person, deal) for Get and Update


@st.composite
def worlds(draw) -> World:
    parents: list[int | None] = []
    depth: list[int] = []
    for _ in range(draw(st.integers(0, 8))):
        shallow = [i for i, d in enumerate(depth) if d < 3]  # a forest at most 4 levels deep
        parent = draw(st.none() | st.sampled_from(shallow)) if shallow else None
        parents.append(parent)
        depth.append(0 if parent is None else depth[parent] + 1)
    n_people = draw(st.integers(3, 12))
    person = st.integers(0, n_people - 1)
    people = [Person(department=draw(st.none() | st.integers(0, len(parents) - 1)) if parents else None,
                     roles=frozenset(draw(st.sets(st.sampled_from(ROLES), max_size=2))),
                     active=draw(st.sampled_from([True, True, True, False])),
                     known=draw(st.sampled_from([True] * 7 + [False])),
                     stale_echo=draw(st.booleans()))
              for _ in range(n_people)]
    heads = [draw(st.none() | person) for _ in parents]
    n_deals = draw(st.integers(5, 25))
    owners = [draw(person) for _ in range(n_deals)]
    ages = [draw(st.integers(0, 6)) for _ in range(n_deals)]
    adds = draw(st.lists(st.tuples(st.integers(0, n_deals - 1), person, st.booleans()), max_size=30))
    removed = draw(st.sets(st.sampled_from(range(len(adds))), max_size=len(adds) // 3)) if adds else set()
    team: dict[tuple[int, int], bool] = {}
    for i, (deal, who, can_edit) in enumerate(adds):
        team.setdefault((deal, who), can_edit)  # a second add of the same person is a no-op
        if i in removed:
            team.pop((deal, who), None)
    added = [(d, w, e) if i not in removed else (d, w, e, "removed") for i, (d, w, e) in enumerate(adds)]
    return World(parents=parents, heads=heads, people=people, owners=owners, ages=ages, team=team, added=added,
                 page_size=draw(st.integers(1, 7)), probe=(draw(person), draw(st.integers(0, n_deals - 1))))


# --- the oracle: the rules read straight, in Python ---------------------------------------------------------

def _ancestors(world: World, dept: int) -> list[int]:
    chain = []
    while dept is not None:
        chain.append(dept)
        dept = world.parents[dept]
    return chain


def _manages(world: World, viewer: int, owner: int) -> bool:
    me, them = world.people[viewer], world.people[owner]
    if not (me.known and me.active) or not them.known or them.department is None or viewer == owner:
        return False
    return any(world.heads[d] == viewer for d in _ancestors(world, them.department))


def oracle_sees(world: World, viewer: int, deal: int) -> bool:
    me = world.people[viewer]
    if world.owners[deal] == viewer:
        return True
    if me.known and not me.active:
        return False
    if me.known and me.roles & GLOBAL:
        return True
    return (deal, viewer) in world.team or _manages(world, viewer, world.owners[deal])


def oracle_edits(world: World, viewer: int, deal: int) -> bool:
    me = world.people[viewer]
    if world.owners[deal] == viewer:
        return True
    if me.known and not me.active:
        return False
    return world.team.get((deal, viewer)) is True or _manages(world, viewer, world.owners[deal])


# --- loading a world into the real database, through the worker's handlers -----------------------------------

def load(world: World, org, url: str) -> tuple[list[str], list[str]]:
    """Person ids and deal ids of ``world`` in a freshly emptied database (seeded pipeline kept)."""
    databases.truncate_all(url, keep=databases.seeded_tables("opportunities"))
    org.paths.clear()
    people = [str(uuid.uuid4()) for _ in world.people]
    depts = [str(uuid.uuid4()) for _ in world.parents]
    for i, parent in enumerate(world.parents):
        head = world.heads[i]
        org.department(depts[i], parent=None if parent is None else depts[parent],
                       head=None if head is None else people[head], at=T0 + timedelta(minutes=1))
    for i, p in enumerate(world.people):
        if not p.known:
            continue
        dept = None if p.department is None else depts[p.department]
        org.user(people[i], department=dept, roles=sorted(p.roles), active=p.active, at=T0 + timedelta(minutes=1),
                 kind="UserCreated" if p.active else "UserDeactivated")
        if p.stale_echo:  # an older state: seeing everything, active, elsewhere; must change nothing
            org.user(people[i], department=None, roles=("admin",), active=True, at=T0, kind="UserUpdated")
    deals = [str(uuid.uuid4()) for _ in world.owners]
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        pipeline_id = conn.execute(sa.text("SELECT id FROM pipelines WHERE is_default")).scalar_one()
        conn.execute(opportunities.insert(), [
            {"id": deals[i], "title": f"商机 {i}", "customer_company": f"客户 {i}", "owner_id": people[owner],
             "registrant_id": people[owner], "pipeline_id": pipeline_id, "stage_key": "discover", "version": 1,
             "create_time": BASE - timedelta(seconds=world.ages[i]),
             "update_time": BASE - timedelta(seconds=world.ages[i])}
            for i, owner in enumerate(world.owners)])
    engine.dispose()
    for deal, who, can_edit, *removed in world.added:
        org.add_member(f"opportunities/{deals[deal]}", people[who], can_edit=can_edit)
        if removed:
            org.remove_member(f"opportunities/{deals[deal]}", people[who])
    return people, deals


def list_all(user_id: str, page_size: int, uow) -> list:
    rows, token = [], ""
    while True:
        page = lifecycle.list_opportunities(user_id, page_size, token, uow())
        assert len(page.opportunities) <= page_size
        rows += page.opportunities
        token = page.next_page_token
        if not token:
            return rows


@pytest.fixture
def database(shangji_env):
    settings_ = Settings.for_service("opportunities")
    return settings_.database_url, bootstrap.uow_factory(settings_)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_every_user_lists_exactly_the_deals_the_rules_allow(world, database, org):
    url, uow = database
    people, deals = load(world, org, url)
    index = {d: i for i, d in enumerate(deals)}
    for viewer, user_id in enumerate(people):
        rows = list_all(user_id, world.page_size, uow)
        got = [index[o.id] for o in rows]
        expected = {d for d in range(len(deals)) if oracle_sees(world, viewer, d)}
        assert len(got) == len(set(got)), "a deal listed twice across pages"
        assert not set(got) - expected, f"viewer {viewer} was shown denied deals {set(got) - expected}"
        assert not expected - set(got), f"viewer {viewer} was not shown allowed deals {expected - set(got)}"
        keys = [(-o.create_time.timestamp(), o.id) for o in rows]
        assert keys == sorted(keys), "not newest first"

    viewer, deal = world.probe
    deal_id, user_id = deals[deal], people[viewer]
    try:
        lifecycle.get_opportunity(deal_id, user_id, uow())
        seen = True
    except NotFound:
        seen = False
    assert seen == oracle_sees(world, viewer, deal)
    cmd = lifecycle.UpdateOpportunity(opportunity_id=deal_id, title="改名", update_mask=("title",))
    try:
        lifecycle.update_opportunity(cmd, user_id, uow())
        outcome = "updated"
    except NotFound:
        outcome = "not found"
    except PermissionDenied:
        outcome = "denied"
    expected = ("not found" if not oracle_sees(world, viewer, deal)
                else "updated" if oracle_edits(world, viewer, deal) else "denied")
    assert outcome == expected
