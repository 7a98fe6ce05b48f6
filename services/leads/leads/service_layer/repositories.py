"""What the use cases need from storage, per aggregate: the lead (with its follow-ups, behaviours and
merges), the customer (with its contacts), campaigns (with the won deals the report reads), the settings,
and teams' organisation with the reps' profiles. The PostgreSQL repositories in ``adapters/`` and the
in-memory fakes of the unit tests both satisfy these."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol

from leads.domain import dedupe
from leads.domain.campaigns import Campaign, Tally
from leads.domain.customers import Contact, Customer
from leads.domain.model import Assignment, Lead
from leads.domain.pool import Candidate, FollowUp, PoolSettings, RepProfile
from leads.domain.scoring import ScoringSettings
from leads.domain.timeline import TimelineFact
from shangji_kit import visibility
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page
from shangji_kit.timeline_token import Cursor


class LeadRepository(Protocol):
    def add(self, lead: Lead) -> None: ...

    def lock_keys(self, keys: dedupe.Keys) -> None:
        """Serialise captures sharing a de-duplication key until commit, so two cannot both miss each other."""
        ...

    def duplicate_candidates(self, keys: list[dedupe.Keys]) -> list[Lead]:
        """Every lead sharing a phone, an email, or a company key within a region with any of ``keys``: three
        queries, one per partial index (a UNION of them let the planner scan the whole table)."""
        ...

    def taken_request_ids(self, request_ids: list[str]) -> set[str]:
        """Those of ``request_ids`` a lead or a merge already carries."""
        ...

    def copy_in(self, rows: list[tuple[Lead, str, dedupe.Keys]]) -> None:
        """Insert many new leads (with their request ids) by COPY, in this transaction (a writer thread sends
        while Python formats the next rows). A request id already taken fails the whole transaction (the
        caller filtered them out first)."""
        ...

    def add_merges(self, merges: list[dict]) -> None:
        """Record many merges (``add_merge``'s columns as dicts); one executemany."""
        ...

    def get(self, lead_id: str) -> Lead | None:
        """The lead whoever may see it (for decisions about it, never for an answer)."""
        ...

    def visible_ids(self, lead_ids: list[str], viewer: visibility.Viewer) -> set[str]:
        """Those of ``lead_ids`` the viewer may see."""
        ...

    def get_visible(self, lead_id: str, viewer: visibility.Viewer, *, for_update: bool = False) -> Lead | None:
        """The lead when ``viewer`` may see it; None when it is missing or hidden (the same answer)."""
        ...

    def get_many_for_update(self, lead_ids: list[str], viewer: visibility.Viewer | None = None) -> list[Lead]:
        """The leads among ``lead_ids`` (those ``viewer`` may see, when given), locked, in id order (one lock
        order for everyone, so two batches cannot deadlock)."""
        ...

    def lock_holder(self, user_id: str) -> None:
        """Serialise pool changes for one holder until commit, so two claims cannot both pass the cap."""
        ...

    def count_open_held(self, user_id: str) -> int: ...

    def add_follow_up(self, follow_up: FollowUp) -> None: ...

    def follow_ups_of(self, lead_id: str, limit: int, after: tuple[datetime, str] | None) -> list[FollowUp]:
        """The lead's follow-ups, newest first (create_time DESC, id); ``after`` is the last row seen."""
        ...

    def add_behaviour(self, *, lead_id: str, kind: str, occur_time: datetime, recorded_by: str,
                      now: datetime) -> None: ...

    def assignments_of(self, lead_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Assignment]:
        """The lead's changes of holder, newest first (change_time DESC, id); ``after`` is the last row seen. Each
        write (add, update, copy_in, hand_over_open) records the changes its leads hold in ``assignments``."""
        ...

    def stale_scores(self, version: int, limit: int) -> list[Lead]:
        """Open leads scored with settings older than ``version``, locked; rows another transaction holds are
        skipped (they are rescored by that change or the next batch)."""
        ...

    def recycle_candidates(self, settings: PoolSettings, now: datetime, limit: int) -> list[Lead]:
        """Held open leads whose earliest recycle deadline is at most a day away (due for a warning or a
        recycle), oldest holding first, locked; rows another transaction holds are skipped."""
        ...

    def list_visible(self, viewer: visibility.Viewer, query: ListQuery, in_pool: bool = False) -> Page[Lead]:
        """One page of the held leads ``viewer`` may see (or, ``in_pool``, the pool's) that pass ``query``'s
        filter, in its order."""
        ...

    def count_visible(self, viewer: visibility.Viewer, query: ListQuery, in_pool: bool = False) -> int:
        """How many leads ``list_visible`` lists over all its pages."""
        ...

    def update(self, lead: Lead, expected_version: int) -> None:
        """Write the lead if nobody else did since it was read at ``expected_version``; ABORTED otherwise."""
        ...

    def update_many(self, changed: list[tuple[Lead, int]]) -> None:
        """``update`` for many (lead, version read) at once; ABORTED when any changed since."""
        ...

    def hand_over_open(self, from_owner_id: str, to_owner_id: str, transfer_id: str, change_time: datetime,
                       now: datetime) -> list[str]:
        """Move every OPEN lead of ``from_owner_id`` to ``to_owner_id`` and record each move; the ids moved."""
        ...


class ImportStaging(Protocol):
    """A large import's rows as a set (``import_sets``): staged, checked against earlier imports and existing
    leads, de-duplicated, announced."""

    def stage_keys(self, rows: list[tuple[int, str, str, dedupe.Keys]]) -> None:
        """Stage every valid row's position in the file, request id, new lead id and keys for this transaction."""
        ...

    def taken(self) -> set[str]:
        """The staged request ids a lead or a merge already carries."""
        ...

    def existing_duplicates(self) -> list[Lead]:
        """Every existing lead sharing a key with a staged row that ``taken`` did not return."""
        ...

    def flag_duplicates(self, now: datetime) -> dict[int, str]:
        """Before the new leads are written: for each staged row not taken that duplicates an existing lead or an
        earlier such row (``dedupe.find_duplicate`` over them all), the original's id by the row's position."""
        ...

    def write_events(self, now: datetime, created_by: str | None) -> int:
        """A LeadCreated per staged lead written to ``leads`` (and a LeadFlaggedDuplicate per flagged one) into
        the outbox, in file order."""
        ...


class OrgProjection(Protocol):
    """teams' users and departments as leads knows them (``shangji_kit.visibility``)."""

    def apply_user(self, user: visibility.OrgUser) -> None: ...

    def apply_department(self, department: visibility.OrgDepartment) -> None: ...

    def viewer(self, user_id: str) -> visibility.Viewer: ...

    def manages(self, viewer: visibility.Viewer, owner_id: str) -> bool: ...

    def is_sales(self, user_id: str) -> bool:
        """An active user with a sales role: one who works the pool."""
        ...

    def manager_of(self, user_id: str) -> str | None:
        """The nearest active head of a department at or above ``user_id``'s (not the user themself)."""
        ...

    def is_active(self, user_id: str) -> bool | None:
        """True/False as teams last told us; None when teams has not told us about this user yet."""
        ...


class RepRepository(Protocol):
    """Reps' territories, expertise and capacity (teams' user events) and the round robin's memory."""

    def apply_profile(self, profile: RepProfile) -> None:
        """Upsert from a user event; an older state than the one held is ignored."""
        ...

    def candidates(self, below_paths: tuple[str, ...] | None) -> list[Candidate]:
        """Every sales user (active or not: the rules skip the inactive) with profile, open leads held and last
        auto-assignment; only those in the departments under ``below_paths`` unless it is None. Their rep rows
        are locked, so two auto-assignments take turns and the round robin stays fair."""
        ...

    def assigned_many(self, times: dict[str, datetime]) -> None:
        """``assigned`` for many reps in one statement (an import's assignments)."""
        ...

    def set_away(self, user_id: str, away: bool) -> None:
        """Mark a rep away or back (a row for a rep teams has not described yet carries the oldest update time,
        so teams' first event still applies)."""
        ...

    def assigned(self, user_id: str, now: datetime) -> None:
        """Remember the auto-assignment for the round robin (a row for a rep teams has not described here yet
        carries the oldest update time, so teams' first event still applies)."""
        ...


class SettingsRepository(Protocol):
    """The company's settings (one row, ``company = 'default'``): the pool, de-duplication, scoring and"""

    def get(self) -> PoolSettings: ...

    def scoring(self) -> ScoringSettings: ...

    def get_all(self, for_update: bool = False) -> tuple[PoolSettings, ScoringSettings, int]:
        """Both halves and the version (the settings' etag)."""
        ...

    def save(self, pool: PoolSettings, scoring: ScoringSettings, expected_version: int) -> int:
        """Write both halves if nobody did since ``expected_version`` was read; the new version."""
        ...


class TimelineQuery(Protocol):
    """Leads' part of a customer's timeline (``adapters.timeline_query``)."""

    def page(self, customer_id: str, viewer: visibility.Viewer, after: Cursor | None, limit: int
             ) -> list[TimelineFact]:
        """Up to ``limit`` facts after ``after``, in timeline order, from the customer's leads ``viewer`` may see."""


class CustomerRepository(Protocol):
    def lock_key(self, name_key: str, region_key: str) -> None:
        """Serialise creations of one company within a region until commit (conversions and creates)."""
        ...

    def find_by_key(self, name_key: str, region_key: str) -> Customer | None: ...

    def add(self, customer: Customer) -> None: ...

    def get(self, customer_id: str, viewer: visibility.Viewer | None = None, *, for_update: bool = False
            ) -> Customer | None:
        """The customer (only when ``viewer`` may see it, when given); None when missing or hidden."""
        ...

    def list_visible(self, viewer: visibility.Viewer, query: ListQuery) -> Page[Customer]:
        """One page of the customers ``viewer`` may see that pass ``query``'s filter, in its order."""
        ...

    def count_contact_rows(self, viewer: visibility.Viewer, query: ListQuery) -> int:
        """The rows of an export of ``list_visible``'s customers: one per contact, one for a customer without."""
        ...

    def update(self, customer: Customer, expected_version: int) -> None: ...

    def name_taken(self, name_key: str, region_key: str, except_id: str) -> str | None:
        """The id of another customer with this folded name in this region, if any."""
        ...

    def hand_over(self, from_owner_id: str, to_owner_id: str, now: datetime) -> list[Customer]:
        """Every customer of ``from_owner_id`` to ``to_owner_id`` (a new version each); the customers moved."""
        ...

    def save_chain_revision(self, customer: Customer) -> None:
        """Store the chain revision the domain advanced (the customer row is locked by the caller)."""
        ...

    def add_contact(self, contact: Contact) -> None: ...

    def get_contact(self, contact_id: str) -> Contact | None: ...

    def chain(self, customer_id: str) -> tuple[Contact, ...]:
        """Every contact of the customer, oldest first: the account-level decision chain."""
        ...

    def chains(self, customer_ids: list[str]) -> dict[str, tuple[Contact, ...]]:
        """``chain`` of many customers in one query (a page of customers)."""
        ...

    def list_contacts(self, customer_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Contact]: ...

    def update_contact(self, contact: Contact, expected_version: int) -> None: ...


class CampaignRepository(Protocol):
    def add(self, campaign: Campaign) -> None: ...

    def get(self, campaign_id: str, *, for_update: bool = False) -> Campaign | None: ...

    def exists(self, campaign_id: str) -> bool: ...

    def list(self, limit: int, after: tuple[datetime, str] | None) -> list[Campaign]: ...

    def update(self, campaign: Campaign, expected_version: int) -> None: ...

    def record_outcome(self, opportunity: str, lead_id: str, won: bool, amount: Decimal, currency: str,
                       change_time: datetime) -> None:
        """What opportunities last said about a deal; an older word than the one held is ignored (events may
        arrive out of order)."""
        ...

    def tallies(self) -> tuple[list[Tally], list[Tally]]:
        """Per source channel (lead.source) and per campaign: leads, MQL+, SQL, conversions, won by currency,
        cost by currency. One pass over leads each, grouped in SQL."""
        ...
