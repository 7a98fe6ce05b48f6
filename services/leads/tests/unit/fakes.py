"""Leads' unit of work in memory, on the kit's fakes: the use cases run without PostgreSQL or RabbitMQ.

Each fake keeps the rule its SQL repository keeps where a use case depends on it (who sees a lead, the
pool, de-duplication candidates, the nearest manager); locks and COPY have nothing to do in memory.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from leads.adapters import event_encoder
from leads.domain import dedupe
from leads.domain.campaigns import Campaign, Tally
from leads.domain.customers import Contact, Customer
from leads.domain.model import HANDOVER, OPEN, Assignment, Lead
from leads.domain.pool import Candidate, FollowUp, PoolSettings, RepProfile
from leads.domain.scoring import ScoringSettings
from shangji_kit.errors import Aborted
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page
from shangji_kit.roles import SALES_ROLES
from shangji_kit.testing.fakes import (
    FakeOrgProjection,
    FakeRepository,
    FakeUnitOfWork,
    Transactional,
)
from shangji_kit.visibility import Viewer


def _newest_first(rows: list, limit: int, after: tuple[datetime, str] | None, time=lambda r: r.create_time) -> list:
    rows = sorted(rows, key=lambda r: r.id)
    rows = sorted(rows, key=time, reverse=True)
    if after is not None:
        last, last_id = after
        rows = [r for r in rows if time(r) < last or (time(r) == last and r.id > last_id)]
    return rows[:limit]


def _unfiltered_page(rows: list, query: ListQuery) -> Page:
    # Filters, orders and tokens are SQL's (tests/integration/test_lists.py); the fake lists newest first.
    assert query.filter.root is None and query.order_by == "create_time desc" and not query.page_token
    return Page(_newest_first(rows, query.limit, None), "")


class FakeOrg(FakeOrgProjection):
    def is_sales(self, user_id: str) -> bool:
        user = self.users.get(user_id)
        return bool(user and user.active and set(user.roles) & set(SALES_ROLES))

    def manager_of(self, user_id: str) -> str | None:
        user = self.users.get(user_id)
        department = self.departments.get(user.department_id) if user and user.department_id else None
        if department is None:
            return None
        above = sorted((d for d in self.departments.rows() if department.path.startswith(d.path)),
                       key=lambda d: len(d.path), reverse=True)
        for d in above:
            head = self.users.get(d.head_id) if d.head_id else None
            if head is not None and head.active and head.user_id != user_id:
                return head.user_id
        return None

    def sees_lead(self, viewer: Viewer, lead: Lead) -> bool:
        if lead.owner_id is None:
            return viewer.sees_everything or self.is_sales(viewer.user_id)
        return self.can_see(viewer, lead.owner_id)


class FakeLeads(FakeRepository[str, Lead]):
    def __init__(self, org: FakeOrg) -> None:
        super().__init__()
        self.org = org
        self.follow_ups: list[FollowUp] = []
        self.behaviours: list[dict] = []
        self.merges: list[dict] = []
        self.request_ids: dict[str, str] = {}  # an import's row ids -> lead id
        self.assignments: list[Assignment] = []

    def _record(self, lead: Lead) -> None:
        self.assignments.extend(lead.assignments)
        lead.assignments.clear()

    def add(self, lead: Lead) -> None:
        assert super().add(dataclasses.replace(lead, events=[], assignments=[]))
        self._record(lead)

    def update(self, lead: Lead, expected_version: int) -> None:
        held = self.get(lead.id)
        if held is None or held.version != expected_version:
            raise Aborted(f"{lead.name} was changed concurrently")
        self.save(dataclasses.replace(lead, events=[], assignments=[]))
        self._record(lead)

    def assignments_of(self, lead_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Assignment]:
        return _newest_first([a for a in self.assignments if a.lead_id == lead_id], limit, after,
                             time=lambda a: a.change_time)

    def update_many(self, changed: list[tuple[Lead, int]]) -> None:
        for lead, expected_version in changed:
            self.update(lead, expected_version)

    def lock_keys(self, keys: dedupe.Keys) -> None:
        pass

    def lock_holder(self, user_id: str) -> None:
        pass

    def duplicate_candidates(self, keys: list[dedupe.Keys]) -> list[Lead]:
        return [lead for lead in self.rows() if any(dedupe.matched_on(k, dedupe.keys_of(lead)) for k in keys)]

    def taken_request_ids(self, request_ids: list[str]) -> set[str]:
        return set(request_ids) & set(self.request_ids)

    def copy_in(self, rows: list[tuple[Lead, str, dedupe.Keys]]) -> None:
        for lead, request_id, _ in rows:
            self.add(lead)
            self.request_ids[request_id] = lead.id

    def add_merges(self, merges: list[dict]) -> None:
        self.merges.extend(merges)
        self.request_ids.update({m["request_id"]: m["lead_id"] for m in merges if m["request_id"]})

    def get_visible(self, lead_id: str, viewer: Viewer, *, for_update: bool = False) -> Lead | None:
        lead = self.get(lead_id)
        return lead if lead is not None and self.org.sees_lead(viewer, lead) else None

    def visible_ids(self, lead_ids: list[str], viewer: Viewer) -> set[str]:
        return {i for i in lead_ids if self.get_visible(i, viewer) is not None}

    def get_many_for_update(self, lead_ids: list[str], viewer: Viewer | None = None) -> list[Lead]:
        found = [self.get(i) for i in sorted(set(lead_ids))]
        return [lead for lead in found if lead is not None and (viewer is None or self.org.sees_lead(viewer, lead))]

    def count_open_held(self, user_id: str) -> int:
        return sum(1 for lead in self.rows() if lead.owner_id == user_id and lead.state == OPEN)

    def add_follow_up(self, follow_up: FollowUp) -> None:
        self.follow_ups.append(follow_up)

    def follow_ups_of(self, lead_id: str, limit: int, after: tuple[datetime, str] | None) -> list[FollowUp]:
        return _newest_first([f for f in self.follow_ups if f.lead_id == lead_id], limit, after)

    def add_behaviour(self, *, lead_id: str, kind: str, occur_time: datetime, recorded_by: str,
                      now: datetime) -> None:
        self.behaviours.append({"lead_id": lead_id, "type": kind, "occur_time": occur_time})

    def stale_scores(self, version: int, limit: int) -> list[Lead]:
        return [lead for lead in self.rows() if lead.state == OPEN and lead.scored_with < version][:limit]

    def recycle_candidates(self, settings: PoolSettings, now: datetime, limit: int) -> list[Lead]:
        return [lead for lead in self.rows() if lead.state == OPEN and lead.owner_id is not None
                and (lead.recycle_warned_for is None or lead.recycle_warned_for <= now)][:limit]

    def list_visible(self, viewer: Viewer, query: ListQuery, in_pool: bool = False) -> Page[Lead]:
        rows = [lead for lead in self.rows() if (lead.owner_id is None) == in_pool and self.org.sees_lead(viewer, lead)]
        return _unfiltered_page(rows, query)

    def hand_over_open(self, from_owner_id: str, to_owner_id: str, transfer_id: str, change_time: datetime,
                       now: datetime) -> list[str]:
        moved = []
        for lead in self.rows():
            if lead.owner_id == from_owner_id and lead.state == OPEN:
                self.save(dataclasses.replace(lead, owner_id=to_owner_id, version=lead.version + 1, update_time=now))
                self.assignments.append(Assignment(id=f"{transfer_id}:{lead.id}", lead_id=lead.id,
                                                   previous_owner_id=from_owner_id, new_owner_id=to_owner_id,
                                                   actor_id=None, kind=HANDOVER, change_time=change_time))
                moved.append(lead.id)
        return moved


class FakeSettings(Transactional):
    def __init__(self) -> None:
        self.pool, self.scoring_settings, self.version = PoolSettings(), ScoringSettings(), 1
        self._committed = (self.pool, self.scoring_settings, self.version)

    def commit(self) -> None:
        self._committed = (self.pool, self.scoring_settings, self.version)

    def rollback(self) -> None:
        self.pool, self.scoring_settings, self.version = self._committed

    def get(self) -> PoolSettings:
        return self.pool

    def scoring(self) -> ScoringSettings:
        return self.scoring_settings

    def get_all(self, for_update: bool = False) -> tuple[PoolSettings, ScoringSettings, int]:
        return self.pool, self.scoring_settings, self.version

    def save(self, pool: PoolSettings, scoring: ScoringSettings, expected_version: int) -> int:
        if expected_version != self.version:
            raise Aborted("the settings were changed concurrently")
        self.pool, self.scoring_settings, self.version = pool, scoring, expected_version + 1
        return self.version


class FakeReps(FakeRepository[str, Candidate]):
    """Candidates as the SQL query builds them, from the fake organisation and leads."""

    def __init__(self, org: FakeOrg, leads: FakeLeads) -> None:
        super().__init__(key=lambda c: c.user_id)
        self.org, self.leads = org, leads
        self.last_assigned: dict[str, datetime] = {}

    def apply_profile(self, profile: RepProfile) -> None:
        self.save(Candidate(user_id=profile.user_id, active=True, territories=profile.territories,
                            expertise=profile.expertise, capacity=profile.capacity))

    def candidates(self, below_paths: tuple[str, ...] | None) -> list[Candidate]:
        out = []
        for user in sorted(self.org.users.rows(), key=lambda u: u.user_id):
            if not set(user.roles) & set(SALES_ROLES):
                continue
            if below_paths is not None:
                department = self.org.departments.get(user.department_id or "")
                if department is None or not any(department.path.startswith(p) for p in below_paths):
                    continue
            profile = self.get(user.user_id) or Candidate(user_id=user.user_id, active=True)
            out.append(dataclasses.replace(profile, active=user.active,
                                           open_leads=self.leads.count_open_held(user.user_id),
                                           last_assigned_time=self.last_assigned.get(user.user_id)))
        return out

    def assigned(self, user_id: str, now: datetime) -> None:
        self.last_assigned[user_id] = now

    def assigned_many(self, times: dict[str, datetime]) -> None:
        self.last_assigned.update(times)

    def set_away(self, user_id: str, away: bool) -> None:
        self.save(dataclasses.replace(self.get(user_id) or Candidate(user_id=user_id, active=True), away=away))


class FakeCustomers(FakeRepository[str, Customer]):
    def __init__(self, org: FakeOrg) -> None:
        super().__init__()
        self.org = org
        self.contacts: FakeRepository[str, Contact] = FakeRepository()

    def begin(self) -> None:
        super().begin()
        self.contacts.begin()

    def commit(self) -> None:
        super().commit()
        self.contacts.commit()

    def rollback(self) -> None:
        super().rollback()
        self.contacts.rollback()

    def lock_key(self, name_key: str, region_key: str) -> None:
        pass

    def find_by_key(self, name_key: str, region_key: str) -> Customer | None:
        return next((c for c in self.rows() if c.keys == (name_key, region_key)), None)

    def add(self, customer: Customer) -> None:
        assert super().add(dataclasses.replace(customer, events=[]))

    def get(self, customer_id: str, viewer: Viewer | None = None, *, for_update: bool = False) -> Customer | None:
        customer = super().get(customer_id)
        if customer is None or (viewer is not None and not self.org.can_see(viewer, customer.owner_id)):
            return None
        return customer

    def list_visible(self, viewer: Viewer, query: ListQuery) -> Page[Customer]:
        return _unfiltered_page([c for c in self.rows() if self.org.can_see(viewer, c.owner_id)], query)

    def update(self, customer: Customer, expected_version: int) -> None:
        self.save(dataclasses.replace(customer, events=[]))

    def name_taken(self, name_key: str, region_key: str, except_id: str) -> str | None:
        return next((c.id for c in self.rows() if c.keys == (name_key, region_key) and c.id != except_id), None)

    def hand_over(self, from_owner_id: str, to_owner_id: str, now: datetime) -> list[Customer]:
        moved = [dataclasses.replace(c, owner_id=to_owner_id, version=c.version + 1, update_time=now)
                 for c in self.rows() if c.owner_id == from_owner_id]
        for customer in moved:
            self.save(customer)
        return moved

    def save_chain_revision(self, customer: Customer) -> None:
        self.save(dataclasses.replace(super().get(customer.id), chain_revision=customer.chain_revision))

    def add_contact(self, contact: Contact) -> None:
        assert self.contacts.add(contact)

    def get_contact(self, contact_id: str) -> Contact | None:
        return self.contacts.get(contact_id)

    def chain(self, customer_id: str) -> tuple[Contact, ...]:
        return tuple(sorted((c for c in self.contacts.rows() if c.customer_id == customer_id),
                            key=lambda c: (c.create_time, c.id)))

    def chains(self, customer_ids: list[str]) -> dict[str, tuple[Contact, ...]]:
        return {i: self.chain(i) for i in customer_ids}

    def list_contacts(self, customer_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Contact]:
        return _newest_first([c for c in self.contacts.rows() if c.customer_id == customer_id], limit, after)

    def update_contact(self, contact: Contact, expected_version: int) -> None:
        self.contacts.save(contact)


class FakeCampaigns(FakeRepository[str, Campaign]):
    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, tuple] = {}

    def add(self, campaign: Campaign) -> None:
        assert super().add(campaign)

    def get(self, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
        return super().get(campaign_id)

    def list(self, limit: int, after: tuple[datetime, str] | None) -> list[Campaign]:
        return _newest_first(list(self.rows()), limit, after)

    def update(self, campaign: Campaign, expected_version: int) -> None:
        self.save(campaign)

    def record_outcome(self, opportunity: str, lead_id: str, won: bool, amount, currency: str,
                       change_time: datetime) -> None:
        held = self.outcomes.get(opportunity)
        if held is None or held[-1] <= change_time:
            self.outcomes[opportunity] = (lead_id, won, amount, currency, change_time)

    def tallies(self) -> tuple[list[Tally], list[Tally]]:
        return [], []


class FakeLeadsUnitOfWork(FakeUnitOfWork):
    """``LeadsUnitOfWork`` in memory; ``messages`` holds what the outbox would have written (the real encoder)."""

    def __init__(self) -> None:
        super().__init__(encoder=event_encoder.encode)
        self.org = FakeOrg()
        self.leads = FakeLeads(self.org)
        self.pool_settings = FakeSettings()
        self.reps = FakeReps(self.org, self.leads)
        self.customers = FakeCustomers(self.org)
        self.campaigns = FakeCampaigns()
        self.bulk: list = []

    def publish_bulk(self, events: list) -> None:
        self.bulk.extend(events)
        self.add_all(events)
        events.clear()
