"""The repositories the use cases need, one per aggregate (and one per projection of another service's data), as
interfaces: ``adapters`` implements them on PostgreSQL, ``tests/unit/fakes.py`` in memory."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from opportunities.domain import task_list, work
from opportunities.domain.alerts import Alert
from opportunities.domain.audit import Change
from opportunities.domain.decision_chain import DealContact
from opportunities.domain.model import Collections, Opportunity, Pipeline, StageStay, TeamMember
from opportunities.domain.registration import Holding, RegistrationSettings
from opportunities.domain.routing import RoutingRule
from opportunities.domain.timeline import TimelineFact
from shangji_kit import visibility
from shangji_kit.filtering import Filter
from shangji_kit.list_query import ListQuery
from shangji_kit.paging import Page
from shangji_kit.timeline_token import Cursor


class Timeline(Protocol):
    """A customer's deals as timeline facts (``adapters.timeline_query``)."""

    def page(self, customer_id: str, viewer: visibility.Viewer, after: Cursor | None, limit: int
             ) -> list[TimelineFact]:
        """Up to ``limit`` facts after ``after``, in timeline order, from the deals ``viewer`` may open."""


class Deals(Protocol):
    """The deal aggregate: a deal, its stays in stages and its collections."""

    def add(self, opportunity: Opportunity) -> bool:
        """Insert; False when the lead already yielded a deal (nothing written)."""

    def get_visible(self, opportunity_id: str, viewer: visibility.Viewer) -> Opportunity | None:
        """One deal; None when it is missing and when ``viewer`` may not see it (the caller cannot tell which)."""

    def list_visible(self, viewer: visibility.Viewer, query: ListQuery, today: date) -> Page[Opportunity]:
        """One page of the deals ``viewer`` may see that pass ``query``'s filter, in its order; ``today`` is the
        company's date (overdue, closing within N days)."""

    def count_visible(self, viewer: visibility.Viewer, query: ListQuery, today: date) -> int:
        """How many deals ``list_visible`` lists over all its pages."""

    def visible_ids(self, opportunity_ids: list[str], viewer: visibility.Viewer) -> set[str]:
        """The ids among ``opportunity_ids`` that ``viewer`` may see."""

    def get(self, opportunity_id: str) -> Opportunity | None:
        """One deal whoever asks (callers decide who may act on it)."""

    def record_erp_order(self, opportunity_id: str, order_number: str, confirm_time: datetime) -> bool:
        """Keep the deal's ERP order number; False when the deal is unknown or already has one."""

    def update(self, opportunity: Opportunity, expected_version: int) -> bool:
        """Write the changeable fields back; False when the row no longer has ``expected_version``."""

    def transfer_open(self, from_owner_id: str, to_owner_id: str, transfer_id: str, change_time: datetime,
                      now: datetime) -> list[str]:
        """Give every open deal of ``from_owner_id`` to ``to_owner_id`` and record each move; the moved ids."""

    def migrate(self, pipeline_id: str, from_version: int, to_version: int, mapping: dict[str, str],
                opportunity_ids: list[str] | None, now: datetime) -> list[tuple[str, str, str]]:
        """Move the deals of ``pipeline_id`` in ``from_version`` whose stage is mapped (and, when given, whose id is
        listed) to ``to_version``; (id, old stage, new stage) of each deal moved."""

    def enter_stage(self, opportunity_id: str, stage_key: str, time: datetime, actor_id: str | None, reason: str = ""
              ) -> None:
        """Close the deal's current stay (if any) at ``time`` and open one in ``stage_key``: one round trip."""

    def enter_stages(self, moves: list[tuple[str, str]], time: datetime, actor_id: str | None, reason: str) -> None:
        """``enter`` for many deals at once: (opportunity id, stage key) each."""

    def stays(self, opportunity_id: str) -> list[StageStay]: ...

    def collections(self, opportunity_id: str) -> Collections:
        """Everything the gates read from the collections, in one statement."""

    def add_contacts(self, contacts: list[DealContact]) -> None: ...

    def add_registered(self, opportunity: Opportunity, time: datetime, actor_id: str | None,
                       contacts: list[DealContact]) -> bool:
        """A new deal (``add``), its first stay in its stage at ``time`` by ``actor_id`` (``enter_stage``) and its
        decision chain (``add_contacts``) at once; False when the lead already yielded a deal (nothing written)."""

    def contact(self, opportunity_id: str, contact_id: str) -> DealContact | None: ...

    def update_contact(self, contact: DealContact) -> None: ...

    def remove_contact(self, opportunity_id: str, contact_id: str) -> bool: ...

    def contacts(self, opportunity_id: str) -> list[DealContact]: ...

    def add_requirement(self, r: work.Requirement) -> None: ...

    def requirement(self, opportunity_id: str, requirement_id: str) -> work.Requirement | None: ...

    def update_requirement(self, r: work.Requirement) -> None: ...

    def requirements(self, opportunity_id: str) -> list[work.Requirement]: ...

    def add_document_version(self, d: work.DocumentVersion) -> int:
        """The next version of the named document (1 when new). Adds of one name are serialised by a transaction lock,
        so
        concurrent ones number in turn."""

    def documents(self, opportunity_id: str, document: str | None = None) -> list[work.DocumentVersion]:
        """Every version of ``document`` oldest first, or the latest version of each document by name."""

    def record_sample(self, request_id: str, kind: str, opportunity_id: str, time: datetime) -> bool:
        """Count a sample request as approved / delivered for a deal; False when it already counts."""

    def add_activity(self, a: work.Activity) -> None: ...

    def activities(self, opportunity_id: str) -> list[work.Activity]: ...

    def record_checklist(self, opportunity_id: str, items: list[str], user_id: str, now: datetime) -> None:
        """Who completed these items and when; an item already recorded keeps its first completion."""

    def forget_checklist(self, opportunity_id: str, items: list[str]) -> None: ...

    def checklist_completions(self, opportunity_id: str) -> list[tuple[str, str, datetime]]: ...

    def record_win_reason(self, opportunity_id: str, reason: str, competitors_beaten: list[str], time: datetime
                          ) -> None:
        """Why the deal was won and whom it beat, for the win/loss report; a later win of the same deal replaces
        them."""



class Pipelines(Protocol):
    """Pipelines and their immutable versions."""

    def default(self) -> Pipeline | None:
        """The latest version of the default pipeline."""

    def get(self, pipeline_id: str, version: int | None = None) -> Pipeline | None:
        """One version (the latest when ``version`` is None)."""

    def id_of(self, key: str, lock: bool = False) -> str | None: ...

    def list_latest(self, limit: int, after_id: str | None) -> list[Pipeline]:
        """Latest versions by key, after the pipeline ``after_id``."""

    def add(self, pipeline: Pipeline) -> bool:
        """A new pipeline at version 1; False when its key is taken (nothing written)."""

    def add_version(self, pipeline_id: str, pipeline: Pipeline) -> int:
        """The next version of an existing pipeline (its row locked, so concurrent loads number in turn)."""



class Registrations(Protocol):
    """The company's registration settings, its routing rules, and the deals holding a customer."""

    def settings(self) -> RegistrationSettings: ...

    def big_deal_threshold(self) -> Decimal | None:
        """The amount above which a deal is a big deal; None: no big-deal alerts."""

    def save_settings(self, settings: RegistrationSettings, expected_version: int) -> bool:
        """Write the settings back; False when they no longer have ``expected_version``."""

    def rules(self) -> list[RoutingRule]: ...

    def replace_rules(self, rules: list[RoutingRule]) -> None:
        """The whole ordered list at once (the CLI's load-routing)."""

    def lock_customer(self, customer_key: str) -> None:
        """Serialise registrations for one customer key until the transaction ends, so two concurrent registrations
        cannot
        both miss each other's collision."""

    def holdings(self, customer_key: str) -> list[Holding]:
        """Every deal registered for this customer key, with whether its stage is open."""



class Tasks(Protocol):
    """Tasks on deals."""

    def add(self, new: list[work.Task]) -> None: ...

    def get(self, opportunity_id: str, task_id: str) -> work.Task | None: ...

    def update(self, t: work.Task) -> None: ...

    def of_deal(self, opportunity_id: str, flt: Filter | None = None, order_by: str = task_list.DEFAULT_ORDER,
                today: date | None = None) -> list[work.Task]:
        """The deal's tasks that pass ``flt``, in ``order_by`` (canonical); ``today`` is the company's date."""

    def list_visible(self, viewer: visibility.Viewer, opportunity_id: str | None, query: ListQuery, today: date
                     ) -> Page[work.Task]:
        """One page of the tasks of the deal (every deal ``viewer`` may see, when None) that pass ``query``'s
        filter, in its order."""

    def count_visible(self, viewer: visibility.Viewer, opportunity_id: str | None, query: ListQuery, today: date
                      ) -> int: ...

    def open_of(self, assignee_id: str, limit: int = 500) -> list[work.Task]: ...

    def move_open(self, opportunity_ids: list[str], from_assignee_id: str, to_assignee_id: str) -> int:
        """Give ``from_assignee_id``'s open tasks on these deals to ``to_assignee_id``; how many moved."""



class Changes(Protocol):
    """Deals' audit trails."""

    def add(self, changes: list[Change]) -> None: ...

    def of_deal(self, opportunity_id: str, query: ListQuery) -> Page[Change]:
        """One page of the deal's changes in ``query``'s order (newest first)."""



class Alerts(Protocol):
    """Alerts raised, and the deals a scan looks at."""

    def candidates(self, close_by: date, entered_before: datetime) -> list[Opportunity]:
        """Active, owned deals in open stages whose close date is on or before ``close_by`` or which entered their stage
        before ``entered_before`` (the pure rules decide which alerts are due)."""

    def sent(self, opportunity_ids: list[str]) -> set[tuple[str, str, str]]: ...

    def record(self, alert: Alert) -> bool:
        """Claim the alert; False when it was raised before (by this or a concurrent scan)."""

    def managers_of(self, owner_id: str) -> tuple[str, ...]:
        """Active heads of the owner's department and every department above it, nearest first, as teams' projection
        knows
        them (none when it does not know the owner)."""



class Teams(Protocol):
    """Opportunity teams as teams told us."""

    def add(self, member: TeamMember) -> bool:
        """False when the person is already on the team (the row is left as it is)."""

    def remove(self, opportunity_id: str, user_id: str) -> bool: ...

    def get(self, opportunity_id: str, user_id: str) -> TeamMember | None: ...

    def roles(self, opportunity_id: str) -> dict[str, str]:
        """role -> the first-added team member with it."""



class Customers(Protocol):
    """leads' customers as leads told us: owners and decision chains."""

    def apply_owner(self, customer_id: str, owner_id: str, update_time: datetime) -> bool:
        """Keep the customer's owner unless a newer state is held (reordered events change nothing)."""

    def visible(self, customer_id: str, viewer: visibility.Viewer) -> bool:
        """Whether ``viewer`` may see the customer by the kit's rule over its owner; False for a customer whose owner
        leads
        has not told us (unknown customers are refused, not guessed)."""

    def chain(self, customer_id: str) -> list[DealContact]:
        """The customer's latest chain as contacts without a deal (ids and times are the copier's to give)."""

    def apply_chain(self, customer_id: str, revision: int, contacts: list[DealContact],
                             change_time: datetime | None) -> bool:
        """Keep the chain when its revision is higher than the one held; False when it is not (left as it is)."""



class Org(Protocol):
    """teams' organisation, by the kit's visibility rules."""

    def apply_user(self, user: visibility.OrgUser) -> None: ...

    def apply_department(self, department: visibility.OrgDepartment) -> None: ...

    def viewer(self, user_id: str) -> visibility.Viewer: ...

    def is_active(self, user_id: str) -> bool | None:
        """True/False as teams last said; None when teams has not told us about this user yet."""

    def manages(self, viewer: visibility.Viewer, owner_id: str) -> bool: ...

    def roles_of(self, user_id: str) -> tuple[str, ...] | None:
        """The user's roles as teams last said; None when teams has not told us about this user yet."""



