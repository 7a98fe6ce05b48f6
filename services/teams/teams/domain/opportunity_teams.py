"""Opportunity teams and team templates. Plain Python: no database, no protos, no framework.

teams learns who owns an opportunity from opportunities' OpportunityRegistered events (and moves
ownership with its own OwnershipTransferred); the owner is on the team without being a member row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shangji_kit import names
from shangji_kit.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from teams.domain.commands import MemberInput
from teams.domain.model import NAME_LIMIT, ORG_ROLES, User

# Roles on a deal.
TEAM_ROLES = frozenset({"account_manager", "solution_manager", "delivery_manager", "presales", "service"})


@dataclass(frozen=True)
class TeamMember:
    user_id: str
    role: str
    can_edit: bool
    add_time: datetime
    added_by: str = ""


@dataclass
class OpportunityTeam:
    opportunity_id: str
    owner_id: str
    members: list[TeamMember] = field(default_factory=list)
    events: list = field(default_factory=list, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"opportunities/{self.opportunity_id}/team"

    @property
    def opportunity(self) -> str:
        return f"opportunities/{self.opportunity_id}"

    @property
    def member_ids(self) -> set[str]:
        return {m.user_id for m in self.members}

    def is_on_team(self, user_id: str) -> bool:
        return user_id == self.owner_id or user_id in self.member_ids

    def add(self, user: User, role: str, can_edit: bool, *, by: str, now: datetime) -> TeamMember:
        """Add an active user who is not on the team yet (the owner is on it already)."""
        if not user.active:
            raise _inactive([user])
        if self.is_on_team(user.id):
            what = "owns" if user.id == self.owner_id else "is already on"
            raise AlreadyExists(f"{user.name} {what} the team of {self.opportunity}", reason="ALREADY_ON_TEAM",
                                metadata={"team": self.name, "user": user.name})
        member = TeamMember(user_id=user.id, role=role, can_edit=can_edit, add_time=now, added_by=by)
        self.members.append(member)
        self.events.append(TeamMemberAdded(self.opportunity_id, member, user.display_name))
        return member

    def remove(self, user_id: str, *, by: str) -> TeamMember:
        member = next((m for m in self.members if m.user_id == user_id), None)
        if member is None:
            raise NotFound(f"users/{user_id} on {self.name}", reason="NOT_A_MEMBER")
        self.members.remove(member)
        self.events.append(TeamMemberRemoved(self.opportunity_id, user_id, by))
        return member

    def apply(self, template: TeamTemplate, users: Mapping[str, User], *, by: str, now: datetime) \
            -> list[TeamMember]:
        """Add every member of the template not on the team yet; all of them must still be active users."""
        inactive = [users[m.user_id] for m in template.members if not users[m.user_id].active]
        if inactive:
            raise _inactive(inactive)
        return [self.add(users[m.user_id], m.role, m.can_edit, by=by, now=now)
                for m in template.members if not self.is_on_team(m.user_id)]


@dataclass(frozen=True)
class TeamMemberAdded:
    opportunity_id: str
    member: TeamMember
    display_name: str


@dataclass(frozen=True)
class TeamMemberRemoved:
    opportunity_id: str
    user_id: str
    removed_by: str


def _inactive(users: Sequence[User]) -> FailedPrecondition:
    listed = ", ".join(u.name for u in users)
    return FailedPrecondition(f"inactive users cannot join a team: {listed}", reason="INACTIVE_USER",
                              violations=[("INACTIVE_USER", u.name) for u in users], metadata={"users": listed})


@dataclass(frozen=True)
class CheckedMember:
    user_id: str
    role: str
    can_edit: bool


def check_member_inputs(members: Sequence[MemberInput], prefixes: Sequence[str]) \
        -> tuple[list[CheckedMember | None], list[FieldViolation]]:
    """Parse each member (``prefixes[i]`` names it, e.g. "member"); a None where the member is bad."""
    checked: list[CheckedMember | None] = []
    violations: list[FieldViolation] = []
    seen: set[str] = set()
    for member, prefix in zip(members, prefixes, strict=True):
        before = len(violations)
        user_id = None
        try:
            user_id = names.parse(member.user.strip(), "users", f"{prefix}.user")
        except InvalidArgument as exc:
            violations.extend(exc.violations)
        if user_id is not None:
            if user_id in seen:
                violations.append(FieldViolation(f"{prefix}.user", f"users/{user_id} is listed twice"))
            seen.add(user_id)
        if member.role not in TEAM_ROLES:
            problem = f"unknown role {member.role!r}" if member.role else "required"
            violations.append(FieldViolation(f"{prefix}.role", f"{problem}; one of {', '.join(sorted(TEAM_ROLES))}"))
        ok = len(violations) == before
        checked.append(CheckedMember(user_id, member.role, member.can_edit) if ok else None)
    return checked, violations


def check_member_users(checked: Sequence[CheckedMember | None], prefixes: Sequence[str],
                       users: Mapping[str, User]) -> list[FieldViolation]:
    """Every member must be a known user (whether they are active is a precondition, checked on adding)."""
    return [FieldViolation(f"{prefix}.user", f"no user users/{m.user_id}")
            for m, prefix in zip(checked, prefixes, strict=True) if m is not None and m.user_id not in users]


# --- templates ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateMember:
    user_id: str
    role: str
    can_edit: bool


@dataclass
class TeamTemplate:
    id: str
    owner_id: str
    display_name: str
    for_role: str
    members: tuple[TemplateMember, ...]
    create_time: datetime
    update_time: datetime

    @property
    def name(self) -> str:
        return f"teamTemplates/{self.id}"


def check_template_input(display_name: str, for_role: str, prefix: str = "template") \
        -> tuple[str, str, list[FieldViolation]]:
    violations = []
    display_name = " ".join(display_name.split())
    if not display_name:
        violations.append(FieldViolation(f"{prefix}.display_name", "required"))
    elif len(display_name) > NAME_LIMIT:
        violations.append(FieldViolation(f"{prefix}.display_name", f"at most {NAME_LIMIT} characters"))
    for_role = for_role.strip()
    if for_role and for_role not in ORG_ROLES:
        violations.append(FieldViolation(f"{prefix}.for_role", f"unknown role {for_role!r}; "
                                                               f"one of {', '.join(sorted(ORG_ROLES))}"))
    return display_name, for_role, violations


def new_template(*, id: str, owner_id: str, display_name: str, for_role: str, members: Sequence[CheckedMember],
                 users: Mapping[str, User], now: datetime) -> TeamTemplate:
    """A template of checked members, who must all be active now (as when they are added to a team)."""
    inactive = [users[m.user_id] for m in members if not users[m.user_id].active]
    if inactive:
        raise _inactive(inactive)
    return TeamTemplate(id=id, owner_id=owner_id, display_name=display_name, for_role=for_role,
                        members=tuple(TemplateMember(m.user_id, m.role, m.can_edit) for m in members),
                        create_time=now, update_time=now)
