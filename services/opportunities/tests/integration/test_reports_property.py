"""THE property of reports: for random organisations, deals and teams in the real database, every person's
funnel, forecast, incentive and win/loss totals equal the sums a pure-Python oracle makes over exactly the deals the
visibility rules let that person open. A total that included one hidden deal (or missed one allowed) fails.

The rules (ARCHITECTURE.md section 6): own deals; deals whose team one is on; deals owned by someone at or below
a department one heads (while active); everything for an active sales_ops or admin. A deactivated person keeps
their own deals only; one teams has not told us about sees their own and their teams'.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opportunities import bootstrap
from opportunities.adapters.orm import opportunities
from opportunities.domain.reporting import Period
from opportunities.service_layer import reports
from opportunities.service_layer.report_scope import Scope
from shangji_kit.settings import Settings
from shangji_kit.testing import databases

GLOBAL = {"sales_ops", "admin"}
ROLES = ("sales_rep", "sales_manager", "sales_ops", "admin")
# (stage key, category, default probability) of the default pipeline's version 1.
STAGES = (("discover", "open", 5), ("validate", "open", 10), ("proposal", "open", 60), ("won", "won", 100),
          ("lost", "lost", 0))
PERIOD = Period(date(2026, 11, 1), date(2027, 1, 31))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    department: int | None
    roles: frozenset[str]
    active: bool
    known: bool


@dataclass(frozen=True)
class Deal:
    owner: int
    stage: int  # index into STAGES
    amount: int
    month: int  # 0..3: close (open deals) or win month from November 2026
    override: int | None


@dataclass(frozen=True)
class World:
    parents: list[int | None]
    heads: list[int | None]
    people: list[Person]
    deals: list[Deal]
    team: set[tuple[int, int]]  # (deal, person)


@st.composite
def worlds(draw) -> World:
    parents: list[int | None] = []
    for i in range(draw(st.integers(0, 6))):
        parents.append(draw(st.none() | st.integers(0, i - 1)) if i else None)
    n_people = draw(st.integers(2, 9))
    person = st.integers(0, n_people - 1)
    people = [Person(department=draw(st.none() | st.integers(0, len(parents) - 1)) if parents else None,
                     roles=frozenset(draw(st.sets(st.sampled_from(ROLES), max_size=2))),
                     active=draw(st.sampled_from([True, True, True, False])),
                     known=draw(st.sampled_from([True] * 7 + [False])))
              for _ in range(n_people)]
    heads = [draw(st.none() | person) for _ in parents]
    deals = [Deal(owner=draw(person), stage=draw(st.integers(0, len(STAGES) - 1)),
                  amount=draw(st.integers(0, 10_000)) * 100, month=draw(st.integers(0, 3)),
                  override=draw(st.none() | st.integers(0, 100)))
             for _ in range(draw(st.integers(1, 20)))]
    team = draw(st.sets(st.tuples(st.integers(0, len(deals) - 1), person), max_size=10))
    return World(parents, heads, people, deals, team)


def _ancestors(world: World, dept: int | None) -> list[int]:
    chain = []
    while dept is not None:
        chain.append(dept)
        dept = world.parents[dept]
    return chain


def oracle_sees(world: World, viewer: int, deal: int) -> bool:
    me, owner = world.people[viewer], world.deals[deal].owner
    if owner == viewer:
        return True
    if me.known and not me.active:
        return False
    if me.known and me.roles & GLOBAL:
        return True
    if (deal, viewer) in world.team:
        return True
    them = world.people[owner]
    return (me.known and me.active and them.known and them.department is not None
            and any(world.heads[d] == viewer for d in _ancestors(world, them.department)))


def month_date(month: int) -> date:
    return date(2026 + (10 + month) // 12, (10 + month) % 12 + 1, 15)


def load(world: World, org, url: str) -> list[str]:
    databases.truncate_all(url, keep=databases.seeded_tables("opportunities"))
    org.paths.clear()
    people = [str(uuid.uuid4()) for _ in world.people]
    depts = [str(uuid.uuid4()) for _ in world.parents]
    for i, parent in enumerate(world.parents):
        head = world.heads[i]
        org.department(depts[i], parent=None if parent is None else depts[parent],
                       head=None if head is None else people[head], at=T0)
    for i, p in enumerate(world.people):
        if p.known:
            org.user(people[i], department=None if p.department is None else depts[p.department],
                     roles=sorted(p.roles), active=p.active, at=T0,
                     kind="UserCreated" if p.active else "UserDeactivated")
    ids = [str(uuid.uuid4()) for _ in world.deals]
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    created = datetime(2026, 10, 1, tzinfo=UTC)
    with engine.begin() as conn:
        pipeline_id = conn.execute(sa.text("SELECT id FROM pipelines WHERE is_default")).scalar_one()
        conn.execute(opportunities.insert(), [
            {"id": ids[i], "title": f"商机 {i}", "customer_company": f"客户 {i}", "owner_id": people[d.owner],
             "registrant_id": people[d.owner], "pipeline_id": pipeline_id, "pipeline_version": 1,
             "stage_key": STAGES[d.stage][0], "version": 1, "create_time": created, "update_time": created,
             "amount": Decimal(d.amount), "probability": d.override,
             "stage_enter_time": datetime.combine(month_date(d.month), datetime.min.time(), UTC),
             "expected_close_date": month_date(d.month) if STAGES[d.stage][1] == "open" else None,
             "win_date": month_date(d.month) if STAGES[d.stage][1] == "won" else None}
            for i, d in enumerate(world.deals)])
    engine.dispose()
    for deal, who in world.team:
        org.add_member(f"opportunities/{ids[deal]}", people[who])
    return people


@pytest.fixture
def database(shangji_env):
    settings_ = Settings.for_service("opportunities")
    return settings_.database_url, bootstrap.reports_uow_factory(settings_)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_every_persons_report_totals_are_the_sums_over_the_deals_they_may_open(world, database, org):
    url, uow = database
    people = load(world, org, url)
    for viewer, user_id in enumerate(people):
        seen = [d for i, d in enumerate(world.deals) if oracle_sees(world, viewer, i)]

        funnel = reports.funnel(Scope(), PERIOD, user_id, uow())
        by_stage = {s.key: (s.count, s.amount) for s in funnel.stages}
        for key, _, _ in STAGES:
            mine = [d for d in seen if STAGES[d.stage][0] == key]
            assert by_stage[key] == (len(mine), sum((Decimal(d.amount) for d in mine), Decimal(0))), (viewer, key)

        forecast = reports.forecast(Scope(), PERIOD, "month", user_id, uow())
        open_ = [d for d in seen if STAGES[d.stage][1] == "open" and d.month < 3]
        won = [d for d in seen if STAGES[d.stage][1] == "won" and d.month < 3]

        def prob(d: Deal) -> int:
            return STAGES[d.stage][2] if d.override is None else d.override

        assert forecast.total.open_count == len(open_)
        assert forecast.total.pipeline == sum(Decimal(d.amount) for d in open_)
        assert forecast.total.weighted == sum(Decimal(d.amount) * prob(d) / 100 for d in open_)
        assert forecast.total.commit == sum(Decimal(d.amount) for d in open_ if prob(d) >= 70)
        assert forecast.total.best_case == sum(Decimal(d.amount) for d in open_ if prob(d) >= 40)
        assert (forecast.total.won_count, forecast.total.won) == (len(won), sum(Decimal(d.amount) for d in won))
        assert [b.period.start for b in forecast.buckets] == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]

        lines, totals = reports.incentive_basis(Scope(), PERIOD, user_id, uow())
        assert sorted(x.row.amount for x in lines) == sorted(Decimal(d.amount) for d in won)

        lost = [d for d in seen if STAGES[d.stage][1] == "lost" and d.month < 3]
        tally = reports.win_loss(Scope(), PERIOD, user_id, uow()).total
        assert (tally.won_count, tally.won, tally.lost_count, tally.lost) == (
            len(won), sum((Decimal(d.amount) for d in won), Decimal(0)),
            len(lost), sum((Decimal(d.amount) for d in lost), Decimal(0)))
