"""What callers ask teams to do, as plain data: built by the entrypoints (via protomap), run by use cases.

Resource names arrive as the client sent them ("users/{id}", "departments/{id}"); the use cases
parse them, so every bad field can be reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserInput:
    """A user's writable fields, raw."""

    display_name: str = ""
    email: str = ""
    phone: str = ""
    department: str = ""
    manager: str = ""
    roles: tuple[str, ...] = ()
    function_tags: tuple[str, ...] = ()
    territories: tuple[str, ...] = ()
    expertise: tuple[str, ...] = ()
    capacity: int = 0


@dataclass(frozen=True)
class CreateUser:
    user: UserInput
    request_id: str = ""


@dataclass(frozen=True)
class UpdateUser:
    name: str
    user: UserInput
    paths: tuple[str, ...]
    etag: str = ""


@dataclass(frozen=True)
class DeactivateUser:
    name: str
    successor: str
    etag: str = ""


@dataclass(frozen=True)
class TransferOwnership:
    from_user: str
    to_user: str


@dataclass(frozen=True)
class ListUsers:
    page_size: int = 0
    page_token: str = ""
    department: str = ""
    role: str = ""
    territory: str = ""
    expertise: str = ""
    include_inactive: bool = False


@dataclass(frozen=True)
class DepartmentInput:
    display_name: str = ""
    parent: str = ""
    head: str = ""


@dataclass(frozen=True)
class CreateDepartment:
    department: DepartmentInput
    request_id: str = ""


@dataclass(frozen=True)
class UpdateDepartment:
    name: str
    department: DepartmentInput
    paths: tuple[str, ...]
    etag: str = ""


@dataclass(frozen=True)
class ListDepartments:
    page_size: int = 0
    page_token: str = ""
    parent: str = ""


@dataclass(frozen=True)
class MemberInput:
    user: str = ""
    role: str = ""
    can_edit: bool = False


@dataclass(frozen=True)
class AddTeamMember:
    team: str
    member: MemberInput


@dataclass(frozen=True)
class RemoveTeamMember:
    team: str
    user: str


@dataclass(frozen=True)
class CreateTeamTemplate:
    display_name: str
    for_role: str = ""
    members: tuple[MemberInput, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ApplyTeamTemplate:
    team: str
    template: str


@dataclass(frozen=True)
class RecordOpportunityOwner:
    """From OpportunityRegistered: who owns a newly registered opportunity."""

    opportunity_id: str
    owner_id: str
