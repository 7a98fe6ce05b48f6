"""The kit's structure mechanisms without servers: idempotent event use cases, the fake unit of work,
the organisation projection's handlers and builders, the caller rule; and the outbox's encoder against
real PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shangji.teams.v1 import events_pb2, teams_pb2
from shangji_kit import caller
from shangji_kit.errors import Unauthenticated
from shangji_kit.inbox import Delivery, idempotent
from shangji_kit.org_handlers import OrgDepartmentEvents, OrgUserEvents
from shangji_kit.testing import org as org_builders
from shangji_kit.testing.fakes import FakeOrgProjection, FakeRepository, FakeUnitOfWork
from shangji_kit.uow import UnitOfWork
from shangji_kit.visibility import OrgUser


@dataclass
class Counter:
    id: str
    value: int = 0


@dataclass(frozen=True)
class Bumped:
    counter_id: str
    value: int


class CountersUnitOfWork(FakeUnitOfWork):
    def __init__(self, encoder=None) -> None:
        super().__init__(encoder)
        self.counters: FakeRepository[str, Counter] = FakeRepository()


@idempotent(consumer="kit.on_bump", skipped=-1)
def bump(uow: CountersUnitOfWork, counter_id: str, fail: bool = False) -> int:
    counter = uow.counters.get(counter_id) or Counter(counter_id)
    counter.value += 1
    uow.counters.save(counter)
    uow.add(Bumped(counter_id, counter.value))
    if fail:
        raise RuntimeError("the effect failed")
    return counter.value


@dataclass(frozen=True)
class Event:
    id: str
    type: str = "kit.Bump"


def test_an_event_use_case_runs_once_per_event_and_commits_its_claim_with_its_effect():
    uow = CountersUnitOfWork()
    event = Event(str(uuid.uuid4()))
    assert bump(event, uow, "c") == 1
    assert bump(event, uow, "c") == -1  # a redelivery
    assert bump(Event(str(uuid.uuid4())), uow, "c") == 2
    assert uow.counters.get("c").value == 2
    assert uow.committed == 2
    assert uow.events == [Bumped("c", 1), Bumped("c", 2)]


def test_a_failing_effect_leaves_no_claim_so_the_retry_runs_it():
    uow = CountersUnitOfWork()
    event = Event(str(uuid.uuid4()))
    with pytest.raises(RuntimeError):
        bump(event, uow, "c", fail=True)
    assert uow.counters.get("c") is None and uow.events == [] and uow.committed == 0
    assert bump(event, uow, "c") == 1


def test_one_use_case_behind_two_consumers_runs_once_for_each():
    uow = CountersUnitOfWork()
    event = Event(str(uuid.uuid4()))
    assert bump(event, uow, "c") == 1
    assert bump.as_consumer("kit.on_other")(event, uow, "c") == 2
    assert bump(Delivery("kit.on_other", event.id, event.type), uow, "c") == -1


def test_the_fake_encodes_committed_events_only_with_the_encoder_given():
    uow = CountersUnitOfWork(encoder=lambda e: (teams_pb2.User(display_name=str(e.value)), f"counters/{e.counter_id}"))
    bump(Event(str(uuid.uuid4())), uow, "c")
    with pytest.raises(RuntimeError):
        bump(Event(str(uuid.uuid4())), uow, "c", fail=True)
    assert [(m.display_name, s) for m, s in uow.messages] == [("1", "counters/c")]


def test_an_aggregate_changed_but_not_saved_is_unchanged_in_the_repository():
    repo: FakeRepository[str, Counter] = FakeRepository()
    repo.seed(Counter("c", 5))
    got = repo.get("c")
    got.value = 9
    assert repo.get("c").value == 5


# --- the organisation projection: handlers, builders, fake ------------------------------------------

class OrgUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.org = FakeOrgProjection()


class Worker(OrgUserEvents, OrgDepartmentEvents):
    name = "kit"

    def __init__(self) -> None:
        self.the_uow = OrgUnitOfWork()

    def uow(self) -> OrgUnitOfWork:
        return self.the_uow


def test_the_org_handlers_keep_the_projection_once_per_event_and_ignore_older_states():
    worker = Worker()
    org = org_builders.OrgBuilder(worker)
    head = str(uuid.uuid4())
    top = org.department(head=head)
    team = org.department(parent=top)
    rep = org.user(department=team)
    body = org.user_event(rep, department=team, kind="UserDeactivated")
    worker.on_user_deactivated(body)
    worker.on_user_deactivated(body)
    older = datetime.now(UTC) - timedelta(days=1)
    worker.on_user_updated(org.user_event(rep, department=team, at=older))
    org.user(head, department=top, roles=("sales_manager",))
    projection = worker.the_uow.org
    with worker.the_uow:
        assert projection.is_active(rep) is False
        viewer = projection.viewer(head)
        assert viewer.headed_paths == (f"/{top}/",)
        assert projection.manages(viewer, rep)
        assert projection.can_see(viewer, rep) and not projection.can_see(projection.viewer(rep), head)
    consumers = sorted(d.consumer for d in worker.the_uow.inbox.committed())
    assert consumers == ["kit.on_department_changed"] * 2 + ["kit.on_user_created"] * 2 + [
        "kit.on_user_deactivated", "kit.on_user_updated"]


def test_a_global_role_sees_everything_and_a_stranger_nothing():
    projection = FakeOrgProjection()
    now = datetime.now(UTC)
    projection.begin()
    projection.apply_user(OrgUser("ops", None, ("sales_ops",), True, now))
    projection.apply_user(OrgUser("rep", None, ("sales_rep",), True, now))
    assert projection.can_see(projection.viewer("ops"), "rep")
    assert not projection.can_see(projection.viewer("stranger"), "rep")


# --- the caller rule ---------------------------------------------------------------------------------

def test_a_subject_that_is_not_a_user_id_is_unauthenticated():
    uid = uuid.uuid4()
    assert caller.user_id(str(uid).upper()) == str(uid)
    for bad in ("", "admin", "users/" + str(uid), "0" * 40):
        with pytest.raises(Unauthenticated) as exc:
            caller.user_id(bad)
        assert exc.value.reason == "INVALID_SUBJECT"


# --- the outbox encoder against PostgreSQL -----------------------------------------------------------

def test_the_unit_of_work_encodes_domain_events_with_the_encoder_given_at_bootstrap(shangji_env, clean_db):
    from shangji_kit.settings import Settings
    from teams.adapters.orm import metadata

    engine = sa.create_engine(Settings.for_service("teams").database_url, poolclass=sa.pool.NullPool)
    marker = uuid.uuid4().hex

    def encode(event: Bumped) -> tuple:
        return events_pb2.UserCreated(user=teams_pb2.User(display_name=f"{marker}-{event.value}")), \
            f"users/{event.counter_id}"

    uow = UnitOfWork("teams", engine.connect, metadata, encoder=encode)
    with uow:
        uow.publish(events := [Bumped("a", 1), Bumped("a", 2)])
        assert events == []
        uow.commit()
    with uow:
        uow.add(Bumped("a", 3))  # rolled back: never written
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT type, subject, data FROM outbox WHERE data->'user'->>'displayName' "
                                    "LIKE :m ORDER BY position"), {"m": f"{marker}%"}).all()
    engine.dispose()
    assert [(r.type, r.subject, r.data["user"]["displayName"]) for r in rows] == [
        ("shangji.teams.v1.UserCreated", "users/a", f"{marker}-1"),
        ("shangji.teams.v1.UserCreated", "users/a", f"{marker}-2")]
