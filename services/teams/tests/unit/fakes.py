"""In-memory teams storage for use-case tests: the kit's fakes with the teams repositories' queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from shangji_kit.errors import Aborted, AlreadyExists
from shangji_kit.testing.fakes import FakeRepository, FakeUnitOfWork
from teams.adapters import protomap
from teams.domain.model import Department, Placement, User
from teams.domain.opportunity_teams import OpportunityTeam, TeamMember, TeamTemplate
from teams.domain.queries import UserFilter

Keyset = tuple[datetime, str] | None


def _page(rows: Iterable, limit: int, after: Keyset) -> list:
    ordered = sorted(rows, key=lambda r: (r.create_time, r.id))
    return [r for r in ordered if after is None or (r.create_time, r.id) > after][:limit]


class FakeUsers(FakeRepository[str, User]):
    def __init__(self, uow: FakeTeamsUnitOfWork) -> None:
        super().__init__()
        self.uow = uow

    def add(self, user: User) -> User | None:
        if any(u.email == user.email for u in self.rows()):
            return None
        return user if super().add(user) else None

    def get(self, user_id: str, *, for_update: bool = False) -> User | None:
        return super().get(user_id)

    def get_many(self, user_ids: Iterable[str], *, for_update: bool = False) -> dict[str, User]:
        return {i: u for i in set(user_ids) if (u := self.get(i)) is not None}

    def update(self, user: User, expected_version: int) -> None:
        if any(u.email == user.email and u.id != user.id for u in self.rows()):
            raise AlreadyExists(f"a user with email {user.email} exists", reason="EMAIL_TAKEN")
        held = self.get(user.id)
        if held is None or held.version != expected_version:
            raise Aborted(f"{user.name} was changed concurrently; re-read it and retry")
        self.save(user)

    def list(self, where: UserFilter, limit: int, after: Keyset) -> list[User]:
        below = None
        if where.department_path is not None:
            below = {d.id for d in self.uow.departments.rows() if d.path.startswith(where.department_path)}
        rows = [u for u in self.rows()
                if (where.include_inactive or u.active) and (below is None or u.department_id in below)
                and (not where.role or where.role in u.roles)
                and (not where.territory or where.territory in u.territories)
                and (not where.expertise or where.expertise in u.expertise)]
        return _page(rows, limit, after)

    def manager_chain(self, manager_id: str, limit: int = 100) -> list[str]:
        chain, current = [], self.get(manager_id)
        while current is not None and len(chain) < limit:
            chain.append(current.id)
            current = self.get(current.manager_id) if current.manager_id else None
        return chain

    def team_mates(self, user_id: str, candidates: Iterable[str]) -> set[str]:
        teams = self.uow.opportunity_teams
        mine = {o for o in teams.opportunity_ids() if user_id in teams.people(o)}
        return {c for c in set(candidates) - {user_id} if any(c in teams.people(o) for o in mine)}


class FakeDepartments(FakeRepository[str, Department]):
    def lock_tree(self) -> None:
        """One test thread: nothing to order."""

    def add(self, department: Department) -> None:
        assert super().add(department)

    def get(self, department_id: str, *, for_update: bool = False) -> Department | None:
        return super().get(department_id)

    def descendants(self, department: Department, *, for_update: bool = False) -> list[Department]:
        return sorted((d for d in self.rows() if d.path.startswith(department.path) and d.id != department.id),
                      key=lambda d: d.path)

    def update(self, changed: Sequence[tuple[Department, int]]) -> None:
        for department, expected_version in changed:
            held = self.get(department.id)
            if held is None or held.version != expected_version:
                raise Aborted(f"{department.name} was changed concurrently; re-read it and retry")
            self.save(department)

    def list(self, parent_id: str | None, limit: int, after: Keyset) -> list[Department]:
        return _page((d for d in self.rows() if parent_id is None or d.parent_id == parent_id), limit, after)

    def headed_paths(self, user_id: str) -> list[str]:
        return [d.path for d in self.rows() if d.head_id == user_id]

    def path_of(self, department_id: str | None) -> str | None:
        department = self.get(department_id) if department_id else None
        return department.path if department else None


class FakePlacements(FakeRepository[tuple, Placement]):
    def __init__(self) -> None:
        super().__init__(key=lambda p: (p.subject_kind, p.subject_id, p.start_time, p.placed_under))

    def place(self, subject_kind: str, subject_id: str, placed_under: str | None, *, now: datetime,
              changed_by: str) -> None:
        for p in self.rows():
            if (p.subject_kind, p.subject_id, p.end_time) == (subject_kind, subject_id, None):
                self.save(Placement(p.subject_kind, p.subject_id, p.placed_under, p.start_time, now, p.changed_by))
        self.save(Placement(subject_kind, subject_id, placed_under, now, None, changed_by))

    def history(self, subject_kind: str, subject_id: str) -> list[Placement]:
        return sorted((p for p in self.rows() if (p.subject_kind, p.subject_id) == (subject_kind, subject_id)),
                      key=lambda p: p.start_time)


class FakeOpportunityTeams(FakeRepository[tuple[str, str], tuple]):
    """Rows ("owner", opportunity_id, owner_id) and ("member", opportunity_id, TeamMember), keyed by (kind, id)."""

    def __init__(self) -> None:
        super().__init__(key=lambda row: (row[0], row[1]) if row[0] == "owner" else (row[1], row[2].user_id))

    def opportunity_ids(self) -> list[str]:
        return [row[1] for row in self.rows() if row[0] == "owner"]

    def people(self, opportunity_id: str) -> set[str]:
        team = self.get(opportunity_id)
        return {team.owner_id, *team.member_ids} if team else set()

    def add_owner(self, opportunity_id: str, owner_id: str, now: datetime) -> bool:
        return self.add(("owner", opportunity_id, owner_id))

    def transfer_owner(self, from_user_id: str, to_user_id: str) -> int:
        moved = [row for row in self.rows() if row[0] == "owner" and row[2] == from_user_id]
        for row in moved:
            self.save(("owner", row[1], to_user_id))
        return len(moved)

    def get(self, opportunity_id: str, *, for_update: bool = False) -> OpportunityTeam | None:
        owner = super().get(("owner", opportunity_id))
        if owner is None:
            return None
        members = [row[2] for row in self.rows() if row[0] == "member" and row[1] == opportunity_id]
        return OpportunityTeam(opportunity_id=opportunity_id, owner_id=owner[2], members=members)

    def add_member(self, opportunity_id: str, member: TeamMember) -> bool:
        return self.add(("member", opportunity_id, member))

    def remove_member(self, opportunity_id: str, user_id: str) -> bool:
        found = super().get((opportunity_id, user_id)) is not None
        self.remove((opportunity_id, user_id))
        return found


class FakeTemplates(FakeRepository[str, TeamTemplate]):
    def add(self, template: TeamTemplate) -> None:
        assert super().add(template)

    def list_owned(self, owner_id: str, limit: int, after: Keyset) -> list[TeamTemplate]:
        return _page((t for t in self.rows() if t.owner_id == owner_id), limit, after)


class FakeTeamsUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__(encoder=protomap.event_to_proto)
        self.departments = FakeDepartments()
        self.opportunity_teams = FakeOpportunityTeams()
        self.users = FakeUsers(self)
        self.placements = FakePlacements()
        self.templates = FakeTemplates()
