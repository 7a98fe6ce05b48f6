"""The opportunities unit of work in memory, on the kit's fakes: every repository the use cases see
(``opportunities.service_layer.repositories``), with the visibility rules of the kit's ``FakeOrgProjection``, so
the workflows run in unit tests without PostgreSQL or RabbitMQ. Fixtures: ``uow`` (the unit pipeline as default),
``people`` (users and departments in its organisation), ``clock`` (a fixed time, ``NOW``)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from opportunities.adapters import event_encoder
from opportunities.domain import audit, work
from opportunities.domain.alerts import Alert
from opportunities.domain.decision_chain import DECISION_MAKER, DealContact
from opportunities.domain.model import OPEN, Collections, Opportunity, Pipeline, StageStay, TeamMember
from opportunities.domain.pipeline import pipeline_from_dict
from opportunities.domain.registration import ACTIVE, Holding, RegistrationSettings
from opportunities.domain.routing import RoutingRule
from shangji_kit import visibility
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page
from shangji_kit.testing.fakes import FakeOrgProjection, FakeRepository, FakeUnitOfWork, Transactional


class _State(Transactional):
    """Plain attributes that a transaction copies in, keeps on commit and restores on rollback."""

    _fields: tuple[str, ...] = ()

    def _snapshot(self) -> dict:
        return copy.deepcopy({f: getattr(self, f) for f in self._fields})

    def begin(self) -> None:
        self._committed = self._snapshot()

    def commit(self) -> None:
        self._committed = self._snapshot()

    def rollback(self) -> None:
        for name, value in copy.deepcopy(getattr(self, "_committed", self._snapshot())).items():
            setattr(self, name, value)


class FakeTeams(_State):
    _fields = ("members",)

    def __init__(self) -> None:
        self.members: dict[tuple[str, str], TeamMember] = {}

    def add(self, member: TeamMember) -> bool:
        key = (member.opportunity_id, member.user_id)
        if key in self.members:
            return False
        self.members[key] = member
        return True

    def remove(self, opportunity_id: str, user_id: str) -> bool:
        return self.members.pop((opportunity_id, user_id), None) is not None

    def get(self, opportunity_id: str, user_id: str) -> TeamMember | None:
        return self.members.get((opportunity_id, user_id))

    def roles(self, opportunity_id: str) -> dict[str, str]:
        members = sorted((m for m in self.members.values() if m.opportunity_id == opportunity_id),
                         key=lambda m: m.add_time, reverse=True)
        return {m.role: m.user_id for m in members}


class FakeDeals(_State):
    """Deals with their stays and collections; visibility as ``deal_rows.visible`` says, over the fake org."""

    _fields = ("deals", "stays_of", "contacts_of", "requirements_of", "documents_of", "activities_of", "samples",
               "completions", "win_reasons")

    def __init__(self, org: FakeOrgProjection, teams: FakeTeams) -> None:
        self.org, self.teams = org, teams
        self.deals: dict[str, Opportunity] = {}
        self.stays_of: dict[str, list[StageStay]] = {}
        self.contacts_of: dict[str, list[DealContact]] = {}
        self.requirements_of: dict[str, list[work.Requirement]] = {}
        self.documents_of: dict[str, list[work.DocumentVersion]] = {}
        self.activities_of: dict[str, list[work.Activity]] = {}
        self.samples: set[tuple[str, str, str]] = set()
        self.completions: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.win_reasons: dict[str, tuple[str, list[str], datetime]] = {}

    @staticmethod
    def _stored(o: Opportunity) -> Opportunity:
        return replace(o, events=[], collections_loader=None, collections=Collections())

    def _sees(self, viewer: visibility.Viewer, o: Opportunity) -> bool:
        if o.owner_id is None:  # the assignment queue: sales ops and every active manager
            return viewer.sees_everything or (bool(viewer.headed_paths) and not viewer.deactivated)
        on_team = (o.id, viewer.user_id) in self.teams.members
        return self.org.can_see(viewer, o.owner_id, on_team=on_team)

    def add(self, opportunity: Opportunity) -> bool:
        if opportunity.lead_id and any(d.lead_id == opportunity.lead_id for d in self.deals.values()):
            return False
        self.deals[opportunity.id] = self._stored(opportunity)
        return True

    def get(self, opportunity_id: str) -> Opportunity | None:
        o = copy.deepcopy(self.deals.get(opportunity_id))
        if o is not None:
            o.loaded = audit.snapshot(o)
        return o

    def get_visible(self, opportunity_id: str, viewer: visibility.Viewer) -> Opportunity | None:
        o = self.get(opportunity_id)
        return o if o is not None and self._sees(viewer, o) else None

    def list_visible(self, viewer: visibility.Viewer, query: ListQuery, today: date) -> Page[Opportunity]:
        # Filters, orders and tokens are SQL's (tests/integration/test_deal_lists.py); the fake lists newest first.
        assert query.filter.root is None and query.order_by == "create_time desc" and not query.page_token
        rows = sorted((o for o in self.deals.values() if self._sees(viewer, o)),
                      key=lambda o: (-o.create_time.timestamp(), o.id))
        return Page(copy.deepcopy(rows[:query.limit]), "")

    def visible_ids(self, opportunity_ids: list[str], viewer: visibility.Viewer) -> set[str]:
        return {i for i in opportunity_ids if i in self.deals and self._sees(viewer, self.deals[i])}

    def update(self, opportunity: Opportunity, expected_version: int) -> bool:
        held = self.deals.get(opportunity.id)
        if held is None or held.version != expected_version:
            return False
        self.deals[opportunity.id] = self._stored(opportunity)
        return True

    def transfer_open(self, from_owner_id: str, to_owner_id: str, transfer_id: str, change_time: datetime,
                      now: datetime) -> list[str]:
        moved = []
        for o in self.deals.values():
            if o.owner_id == from_owner_id and o.stage_category == OPEN:
                o.owner_id, o.version, o.update_time = to_owner_id, o.version + 1, now
                moved.append(o.id)
        return moved

    def migrate(self, pipeline_id: str, from_version: int, to_version: int, mapping: dict[str, str],
                opportunity_ids: list[str] | None, now: datetime) -> list[tuple[str, str, str]]:
        moved = []
        for o in self.deals.values():
            if (o.pipeline_id, o.pipeline_version) == (pipeline_id, from_version) and o.stage_key in mapping and (
                    opportunity_ids is None or o.id in opportunity_ids):
                moved.append((o.id, o.stage_key, mapping[o.stage_key]))
                o.pipeline_version, o.stage_key, o.version, o.update_time = (to_version, mapping[o.stage_key],
                                                                             o.version + 1, now)
        return moved

    # stays
    def enter_stage(self, opportunity_id: str, stage_key: str, time: datetime, actor_id: str | None,
                    reason: str = "") -> None:
        stays = self.stays_of.setdefault(opportunity_id, [])
        if stays and stays[-1].exit_time is None:
            stays[-1] = replace(stays[-1], exit_time=time)
        stays.append(StageStay(stage_key=stage_key, enter_time=time, exit_time=None, actor_id=actor_id,
                               reason=reason))

    def enter_stages(self, moves: list[tuple[str, str]], time: datetime, actor_id: str | None, reason: str) -> None:
        for deal_id, stage_key in moves:
            self.enter_stage(deal_id, stage_key, time, actor_id, reason)

    def stays(self, opportunity_id: str) -> list[StageStay]:
        return list(self.stays_of.get(opportunity_id, []))

    def collections(self, opportunity_id: str) -> Collections:
        reqs = self.requirements_of.get(opportunity_id, [])
        return Collections(
            decision_makers=sum(c.buying_role == DECISION_MAKER for c in self.contacts_of.get(opportunity_id, [])),
            requirements_total=len(reqs), requirements_answered=sum(r.answered for r in reqs),
            documents=frozenset(d.document for d in self.documents_of.get(opportunity_id, [])),
            approved_samples=sum(1 for _, k, o in self.samples if o == opportunity_id and k == "approved"),
            delivered_samples=sum(1 for _, k, o in self.samples if o == opportunity_id and k == "delivered"))

    def add_registered(self, opportunity: Opportunity, time: datetime, actor_id: str | None,
                       contacts: list[DealContact]) -> bool:
        if not self.add(opportunity):
            return False
        self.enter_stage(opportunity.id, opportunity.stage_key, time, actor_id)
        self.add_contacts(contacts)
        return True

    # decision chain
    def add_contacts(self, contacts: list[DealContact]) -> None:
        for c in contacts:
            self.contacts_of.setdefault(c.opportunity_id, []).append(c)

    def contact(self, opportunity_id: str, contact_id: str) -> DealContact | None:
        return next((c for c in self.contacts_of.get(opportunity_id, []) if c.id == contact_id), None)

    def update_contact(self, contact: DealContact) -> None:
        chain = self.contacts_of[contact.opportunity_id]
        chain[:] = [contact if c.id == contact.id else c for c in chain]

    def remove_contact(self, opportunity_id: str, contact_id: str) -> bool:
        chain = self.contacts_of.get(opportunity_id, [])
        kept = [c for c in chain if c.id != contact_id]
        self.contacts_of[opportunity_id] = kept
        return len(kept) < len(chain)

    def contacts(self, opportunity_id: str) -> list[DealContact]:
        return list(self.contacts_of.get(opportunity_id, []))

    # requirements, documents, samples, activities, checklist
    def add_requirement(self, r: work.Requirement) -> None:
        self.requirements_of.setdefault(r.opportunity_id, []).append(r)

    def requirement(self, opportunity_id: str, requirement_id: str) -> work.Requirement | None:
        return next((r for r in self.requirements_of.get(opportunity_id, []) if r.id == requirement_id), None)

    def update_requirement(self, r: work.Requirement) -> None:
        items = self.requirements_of[r.opportunity_id]
        items[:] = [r if i.id == r.id else i for i in items]

    def requirements(self, opportunity_id: str) -> list[work.Requirement]:
        return list(self.requirements_of.get(opportunity_id, []))

    def add_document_version(self, d: work.DocumentVersion) -> int:
        versions = self.documents_of.setdefault(d.opportunity_id, [])
        version = 1 + max((v.version for v in versions if v.document == d.document), default=0)
        versions.append(replace(d, version=version))
        return version

    def documents(self, opportunity_id: str, document: str | None = None) -> list[work.DocumentVersion]:
        versions = self.documents_of.get(opportunity_id, [])
        if document is not None:
            return [v for v in versions if v.document == document]
        latest: dict[str, work.DocumentVersion] = {}
        for v in versions:
            latest[v.document] = v
        return [latest[k] for k in sorted(latest)]

    def record_sample(self, request_id: str, kind: str, opportunity_id: str, time: datetime) -> bool:
        if any(r == request_id and k == kind for r, k, _ in self.samples):
            return False
        self.samples.add((request_id, kind, opportunity_id))
        return True

    def add_activity(self, a: work.Activity) -> None:
        self.activities_of.setdefault(a.opportunity_id, []).append(a)

    def activities(self, opportunity_id: str) -> list[work.Activity]:
        return sorted(self.activities_of.get(opportunity_id, []), key=lambda a: (a.occur_time, a.id), reverse=True)

    def record_checklist(self, opportunity_id: str, items: list[str], user_id: str, now: datetime) -> None:
        for item in items:
            self.completions.setdefault((opportunity_id, item), (user_id, now))

    def forget_checklist(self, opportunity_id: str, items: list[str]) -> None:
        for item in items:
            self.completions.pop((opportunity_id, item), None)

    def checklist_completions(self, opportunity_id: str) -> list[tuple[str, str, datetime]]:
        return sorted(((item, who, when) for (o, item), (who, when) in self.completions.items()
                       if o == opportunity_id), key=lambda c: (c[2], c[0]))

    def record_win_reason(self, opportunity_id: str, reason: str, competitors_beaten: list[str], time: datetime
                          ) -> None:
        self.win_reasons[opportunity_id] = (reason, list(competitors_beaten), time)


class FakePipelines(_State):
    _fields = ("versions", "keys", "default_id")

    def __init__(self) -> None:
        self.versions: dict[tuple[str, int], Pipeline] = {}
        self.keys: dict[str, str] = {}
        self.default_id: str | None = None

    def seed(self, pipeline: Pipeline, *, default: bool = False) -> Pipeline:
        """A pipeline version committed before the test."""
        self.versions[(pipeline.id, pipeline.version)] = pipeline
        self.keys[pipeline.key] = pipeline.id
        if default:
            self.default_id = pipeline.id
        self.begin()
        return pipeline

    def _latest(self, pipeline_id: str) -> Pipeline | None:
        found = [p for (i, _), p in self.versions.items() if i == pipeline_id]
        return max(found, key=lambda p: p.version) if found else None

    def default(self) -> Pipeline | None:
        return self._latest(self.default_id) if self.default_id else None

    def get(self, pipeline_id: str, version: int | None = None) -> Pipeline | None:
        return self._latest(pipeline_id) if version is None else self.versions.get((pipeline_id, version))

    def id_of(self, key: str, lock: bool = False) -> str | None:
        return self.keys.get(key)

    def list_latest(self, limit: int, after_id: str | None) -> list[Pipeline]:
        latest = sorted((self._latest(i) for i in set(self.keys.values())), key=lambda p: p.key)
        if after_id is not None:
            after_key = self._latest(after_id).key
            latest = [p for p in latest if p.key > after_key]
        return latest[:limit]

    def add(self, pipeline: Pipeline) -> bool:
        if pipeline.key in self.keys:
            return False
        self.keys[pipeline.key] = pipeline.id
        self.versions[(pipeline.id, 1)] = replace(pipeline, version=1)
        return True

    def add_version(self, pipeline_id: str, pipeline: Pipeline) -> int:
        version = self._latest(pipeline_id).version + 1
        self.versions[(pipeline_id, version)] = replace(pipeline, id=pipeline_id, version=version)
        return version


class FakeRegistrations(_State):
    _fields = ("settings_row", "threshold", "routing")

    def __init__(self, deals: FakeDeals) -> None:
        self.deals = deals
        self.settings_row = RegistrationSettings()
        self.threshold: Decimal | None = None
        self.routing: list[RoutingRule] = []

    def settings(self) -> RegistrationSettings:
        return self.settings_row

    def big_deal_threshold(self) -> Decimal | None:
        return self.threshold

    def save_settings(self, settings: RegistrationSettings, expected_version: int) -> bool:
        if self.settings_row.version != expected_version:
            return False
        self.settings_row, self.threshold = settings, settings.big_deal_threshold
        return True

    def rules(self) -> list[RoutingRule]:
        return list(self.routing)

    def replace_rules(self, rules: list[RoutingRule]) -> None:
        self.routing = list(rules)

    def lock_customer(self, customer_key: str) -> None:
        """One transaction at a time in memory: nothing to lock."""

    def holdings(self, customer_key: str) -> list[Holding]:
        return [Holding(opportunity_id=o.id, owner_id=o.owner_id, product_lines=o.product_lines,
                        create_time=o.create_time, is_open=o.stage_category == OPEN,
                        registration_state=o.registration_state)
                for o in self.deals.deals.values() if o.customer_key == customer_key]


class FakeTasks(FakeRepository[str, work.Task]):
    def add(self, new: list[work.Task]) -> None:  # type: ignore[override]
        for t in new:
            super().add(t)

    def get(self, opportunity_id: str, task_id: str) -> work.Task | None:  # type: ignore[override]
        t = super().get(task_id)
        return t if t is not None and t.opportunity_id == opportunity_id else None

    def update(self, t: work.Task) -> None:
        self.save(t)

    def of_deal(self, opportunity_id: str, flt=None, order_by: str = "create_time", today=None) -> list[work.Task]:
        # Filters and orders are SQL's (tests/integration/test_task_lists.py); the fake lists oldest first.
        assert (flt is None or flt.root is None) and order_by == "create_time"
        return sorted((t for t in self.rows() if t.opportunity_id == opportunity_id),
                      key=lambda t: (t.create_time, t.id))

    def open_of(self, assignee_id: str, limit: int = 500) -> list[work.Task]:
        return sorted((t for t in self.rows() if t.assignee_id == assignee_id and t.status == work.OPEN),
                      key=lambda t: (t.due_date, t.create_time, t.id))[:limit]

    def move_open(self, opportunity_ids: list[str], from_assignee_id: str, to_assignee_id: str) -> int:
        moving = [t for t in self.rows() if t.opportunity_id in opportunity_ids and t.assignee_id == from_assignee_id
                  and t.status == work.OPEN]
        for t in moving:
            self.save(replace(t, assignee_id=to_assignee_id))
        return len(moving)


class FakeChanges(FakeRepository[str, audit.Change]):
    def add(self, changes: list[audit.Change]) -> None:  # type: ignore[override]
        for c in changes:
            super().add(c)

    def of_deal(self, opportunity_id: str, query: ListQuery) -> Page[audit.Change]:
        # Tokens are SQL's (tests/integration/test_audit_trail.py); the fake gives the first page, newest first.
        assert not query.page_token
        rows = sorted((c for c in self.rows() if c.opportunity_id == opportunity_id),
                      key=lambda c: (-c.change_time.timestamp(), c.id))
        return Page(rows[:query.limit], "")


class FakeAlerts(_State):
    _fields = ("raised",)

    def __init__(self, deals: FakeDeals, org: FakeOrgProjection) -> None:
        self.deals, self.org = deals, org
        self.raised: set[tuple[str, str, str]] = set()

    def candidates(self, close_by: date, entered_before: datetime) -> list[Opportunity]:
        return [copy.deepcopy(o) for o in sorted(self.deals.deals.values(), key=lambda o: o.id)
                if o.stage_category == OPEN and o.registration_state == ACTIVE and o.owner_id is not None
                and ((o.expected_close_date is not None and o.expected_close_date <= close_by)
                     or (o.stage_enter_time is not None and o.stage_enter_time < entered_before))]

    def sent(self, opportunity_ids: list[str]) -> set[tuple[str, str, str]]:
        return {r for r in self.raised if r[0] in opportunity_ids}

    def record(self, alert: Alert) -> bool:
        key = (alert.opportunity.id, alert.kind, alert.condition_key)
        if key in self.raised:
            return False
        self.raised.add(key)
        return True

    def managers_of(self, owner_id: str) -> tuple[str, ...]:
        department = self.org.departments.get(self.org.department_of(owner_id) or "")
        if department is None:
            return ()
        above = sorted((d for d in self.org.departments.rows() if department.path.startswith(d.path)),
                       key=lambda d: len(d.path), reverse=True)
        return tuple(dict.fromkeys(d.head_id for d in above if d.head_id and d.head_id != owner_id
                                   and self.org.is_active(d.head_id)))


class FakeCustomers(_State):
    _fields = ("owners", "chains")

    def __init__(self, org: FakeOrgProjection) -> None:
        self.org = org
        self.owners: dict[str, tuple[str, datetime]] = {}
        self.chains: dict[str, tuple[int, list[DealContact]]] = {}

    def apply_owner(self, customer_id: str, owner_id: str, update_time: datetime) -> bool:
        held = self.owners.get(customer_id)
        if held is not None and held[1] > update_time:
            return False
        self.owners[customer_id] = (owner_id, update_time)
        return True

    def visible(self, customer_id: str, viewer: visibility.Viewer) -> bool:
        held = self.owners.get(customer_id)
        return held is not None and self.org.can_see(viewer, held[0])

    def chain(self, customer_id: str) -> list[DealContact]:
        return list(self.chains.get(customer_id, (0, []))[1])

    def apply_chain(self, customer_id: str, revision: int, contacts: list[DealContact],
                    change_time: datetime | None) -> bool:
        if customer_id in self.chains and self.chains[customer_id][0] >= revision:
            return False
        self.chains[customer_id] = (revision, list(contacts))
        return True


class FakeOpportunitiesUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__(encoder=event_encoder.encode)
        self.org = FakeOrgProjection()
        self.teams = FakeTeams()
        self.deals = FakeDeals(self.org, self.teams)
        self.pipelines = FakePipelines()
        self.registration = FakeRegistrations(self.deals)
        self.tasks = FakeTasks()
        self.alerts = FakeAlerts(self.deals, self.org)
        self.changes = FakeChanges()
        self.customers = FakeCustomers(self.org)


# --- arranging a test ------------------------------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

PIPELINE = {
    "key": "unit", "display_name": "单元测试流程", "allows_skipping": False, "lost_reasons": ["价格", "交期"],
    "stages": [
        {"key": "discover", "display_name": "发现", "category": "open", "probability": 10, "max_days": 14,
         "checklist": {"sales_rep": [{"key": "visited", "description": "拜访客户"}]},
         "exit_criteria": [{"amount_positive": True}]},
        {"key": "solution", "display_name": "方案", "category": "open", "probability": 50,
         "tasks_on_entry": [{"title": "编写解决方案", "role": "presales", "due_in_days": 7}],
         "exit_criteria": [{"decision_maker_identified": True}]},
        {"key": "won", "display_name": "赢单", "category": "won", "probability": 100},
        {"key": "lost", "display_name": "输单", "category": "lost", "probability": 0},
    ]}


def new_uow() -> FakeOpportunitiesUnitOfWork:
    """A fake unit of work with the unit pipeline as the default."""
    uow = FakeOpportunitiesUnitOfWork()
    uow.pipelines.seed(pipeline_from_dict(PIPELINE, id=str(uuid.uuid4()), is_default=True), default=True)
    return uow


class People:
    """Users and departments told to the fake organisation (committed before the test)."""

    def __init__(self, uow: FakeOpportunitiesUnitOfWork) -> None:
        self.uow = uow

    def user(self, *, department: str | None = None, roles=("sales_rep",), active: bool = True) -> str:
        user_id = str(uuid.uuid4())
        self.uow.org.users.seed(visibility.OrgUser(user_id, department, tuple(roles), active, NOW))
        return user_id

    def department(self, head: str | None, parent: str | None = None) -> str:
        dept_id = str(uuid.uuid4())
        path = (self.uow.org.departments.get(parent).path if parent else "/") + f"{dept_id}/"
        self.uow.org.departments.seed(visibility.OrgDepartment(dept_id, parent, path, head, NOW))
        return dept_id

    def manager_of(self, *members_roles: str) -> tuple[str, str]:
        """(a manager, their department): an active head of a new department."""
        manager = self.user(roles=("sales_manager",))
        dept = self.department(manager)
        self.uow.org.users.seed(visibility.OrgUser(manager, dept, ("sales_manager",), True, NOW))
        return manager, dept


def published(uow: FakeOpportunitiesUnitOfWork) -> list[str]:
    """The committed events as the outbox would publish them (their proto names), but for the audit trail's
    OpportunityChanged, which follows every change (``trail`` reads those)."""
    return [message.DESCRIPTOR.name for message, _ in uow.messages if message.DESCRIPTOR.name != "OpportunityChanged"]


def trail(uow: FakeOpportunitiesUnitOfWork) -> list:
    """The OpportunityChanged events committed, oldest first."""
    return [message for message, _ in uow.messages if message.DESCRIPTOR.name == "OpportunityChanged"]


@pytest.fixture
def uow() -> FakeOpportunitiesUnitOfWork:
    return new_uow()


@pytest.fixture
def people(uow) -> People:
    return People(uow)


@pytest.fixture
def clock():
    """The fixed clock every use case is given here."""
    return lambda: NOW


@pytest.fixture
def events():
    return published
