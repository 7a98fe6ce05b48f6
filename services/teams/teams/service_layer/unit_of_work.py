"""What the teams use cases see of storage: users, departments, placements, opportunity teams and team templates
in one transaction, with the outbox (``add``), the inbox (``claim``) and request ids. The SQL one is
``teams.adapters.unit_of_work``; unit tests use fakes of the same shape."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from shangji_kit.abstract_uow import AbstractUnitOfWork
from teams.domain.model import Department, Placement, User
from teams.domain.opportunity_teams import OpportunityTeam, TeamMember, TeamTemplate
from teams.domain.queries import UserFilter

Keyset = tuple[datetime, str] | None


class UserRepository(Protocol):
    def add(self, user: User) -> User | None:
        """None when the email is taken (nothing written)."""

    def get(self, user_id: str, *, for_update: bool = False) -> User | None: ...

    def get_many(self, user_ids: Iterable[str], *, for_update: bool = False) -> dict[str, User]: ...

    def update(self, user: User, expected_version: int) -> None:
        """ABORTED when changed since read; ALREADY_EXISTS EMAIL_TAKEN for another user's email."""

    def list(self, where: UserFilter, limit: int, after: Keyset) -> list[User]: ...

    def manager_chain(self, manager_id: str, limit: int = 100) -> list[str]: ...

    def team_mates(self, user_id: str, candidates: Iterable[str]) -> set[str]: ...


class DepartmentRepository(Protocol):
    def lock_tree(self) -> None: ...

    def add(self, department: Department) -> None: ...

    def get(self, department_id: str, *, for_update: bool = False) -> Department | None: ...

    def descendants(self, department: Department, *, for_update: bool = False) -> list[Department]: ...

    def update(self, changed: Sequence[tuple[Department, int]]) -> None: ...

    def list(self, parent_id: str | None, limit: int, after: Keyset) -> list[Department]: ...

    def headed_paths(self, user_id: str) -> list[str]: ...

    def path_of(self, department_id: str | None) -> str | None: ...


class PlacementRepository(Protocol):
    def place(self, subject_kind: str, subject_id: str, placed_under: str | None, *, now: datetime,
              changed_by: str) -> None: ...

    def history(self, subject_kind: str, subject_id: str) -> list[Placement]: ...


class OpportunityTeamRepository(Protocol):
    def add_owner(self, opportunity_id: str, owner_id: str, now: datetime) -> bool: ...

    def transfer_owner(self, from_user_id: str, to_user_id: str) -> int: ...

    def get(self, opportunity_id: str, *, for_update: bool = False) -> OpportunityTeam | None: ...

    def add_member(self, opportunity_id: str, member: TeamMember) -> bool: ...

    def remove_member(self, opportunity_id: str, user_id: str) -> bool: ...


class TeamTemplateRepository(Protocol):
    def add(self, template: TeamTemplate) -> None: ...

    def get(self, template_id: str) -> TeamTemplate | None: ...

    def list_owned(self, owner_id: str, limit: int, after: Keyset) -> list[TeamTemplate]: ...


class TeamsUnitOfWork(AbstractUnitOfWork, Protocol):
    users: UserRepository
    departments: DepartmentRepository
    placements: PlacementRepository
    opportunity_teams: OpportunityTeamRepository
    templates: TeamTemplateRepository
