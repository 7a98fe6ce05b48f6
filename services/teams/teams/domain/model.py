"""The organisation: users, departments as a tree, placements, ownership transfers.

Plain Python: no database, no protos, no framework. Facts that need a lookup (does this department
exist, is that manager active) are passed in by the use cases, and the rules are applied here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shangji_kit import fieldmask, names
from shangji_kit.contact import normalize_email, normalize_phone
from shangji_kit.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument
from teams.domain.commands import DepartmentInput, UserInput

# Roles a person holds in the organisation (several at once); sales_ops and admin see every record.
ORG_ROLES = frozenset({"sales_rep", "sales_manager", "presales", "marketing", "service", "customer_success",
                       "sales_ops", "admin"})
# The paths an UpdateUser mask may name, in the contract's order.
USER_PATHS = ("display_name", "email", "phone", "department", "manager", "roles", "function_tags", "territories",
              "expertise", "capacity")
DEPARTMENT_PATHS = ("display_name", "parent", "head")

NAME_LIMIT = 200
TAG_LIMIT = 100

USER = "user"
DEPARTMENT = "department"


# --- users --------------------------------------------------------------------------------------

@dataclass
class User:
    id: str
    display_name: str
    email: str
    phone: str
    department_id: str | None
    manager_id: str | None
    roles: tuple[str, ...]
    function_tags: tuple[str, ...]
    territories: tuple[str, ...]
    expertise: tuple[str, ...]
    capacity: int
    active: bool
    create_time: datetime
    update_time: datetime
    version: int = 1
    events: list = field(default_factory=list, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"users/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    def value_of(self, path: str) -> object:
        return getattr(self, _USER_ATTRIBUTES.get(path, path))

    def update(self, values: dict[str, object], now: datetime) -> tuple[str, ...]:
        """Apply checked ``values`` (by mask path); the paths whose value changed. No change, no event."""
        changed = tuple(p for p in USER_PATHS if p in values and values[p] != self.value_of(p))
        if not changed:
            return ()
        for path in changed:
            setattr(self, _USER_ATTRIBUTES.get(path, path), values[path])
        self.update_time = now
        self.version += 1
        self.events.append(UserUpdated(self, changed))
        return changed

    def deactivate(self, successor: User, *, transfer_id: str, requested_by: str, now: datetime) -> None:
        """Inactive from now on; the successor takes over the user's open records (two events, one change)."""
        if not self.active:
            raise FailedPrecondition(f"{self.name} is already inactive", reason="USER_ALREADY_INACTIVE",
                                     metadata={"resource": self.name})
        transfer = transfer_ownership(self, successor, transfer_id=transfer_id, requested_by=requested_by, now=now,
                                      field="successor")
        self.active = False
        self.update_time = now
        self.version += 1
        self.events.append(UserDeactivated(self, successor.id))
        self.events.append(transfer)


_USER_ATTRIBUTES = {"department": "department_id", "manager": "manager_id"}


@dataclass(frozen=True)
class UserCreated:
    user: User


@dataclass(frozen=True)
class UserUpdated:
    user: User
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class UserDeactivated:
    user: User
    successor_id: str


@dataclass(frozen=True)
class OwnershipTransferred:
    transfer_id: str
    from_user_id: str
    to_user_id: str
    requested_by: str
    transfer_time: datetime


def transfer_ownership(from_user: User, to_user: User, *, transfer_id: str, requested_by: str, now: datetime,
                       field: str = "to_user") -> OwnershipTransferred:
    """The event that moves ``from_user``'s open records to ``to_user``, who must be another, active user."""
    if to_user.id == from_user.id:
        raise InvalidArgument.field(field, f"must be another user than {from_user.name}")
    if not to_user.active:
        raise FailedPrecondition(f"{to_user.name} is inactive and cannot take over records", reason="INACTIVE_USER",
                                 violations=[("INACTIVE_USER", to_user.name)], metadata={"user": to_user.name})
    return OwnershipTransferred(transfer_id=transfer_id, from_user_id=from_user.id, to_user_id=to_user.id,
                                requested_by=requested_by, transfer_time=now)


def check_etag(resource: str, current: str, expected: str) -> None:
    if expected and expected != current:
        raise Aborted(f"{resource} has changed (etag {current}, not {expected}); re-read it",
                      metadata={"resource": resource, "etag": current})


def check_user_input(data: UserInput, paths: Iterable[str], prefix: str = "user") \
        -> tuple[dict[str, object], list[FieldViolation]]:
    """Normalise the fields named by ``paths``; (values by path, every violation found).

    ``department`` and ``manager`` become ids (or None when empty); whether they exist is checked by
    ``check_user_references`` once they have been looked up.
    """
    paths = set(paths)
    values: dict[str, object] = {}
    violations: list[FieldViolation] = []
    if "display_name" in paths:
        values["display_name"] = _bounded(violations, f"{prefix}.display_name", data.display_name.strip(),
                                          NAME_LIMIT, required=True)
    if "email" in paths:
        norm_email = normalize_email(data.email)
        if not data.email.strip():
            violations.append(FieldViolation(f"{prefix}.email", "required"))
        elif norm_email is None:
            violations.append(FieldViolation(f"{prefix}.email", f"not an email address: {data.email!r}"))
        values["email"] = norm_email or ""
    if "phone" in paths:
        norm_phone = ""
        if data.phone.strip():
            norm_phone = normalize_phone(data.phone) or ""
            if not norm_phone:
                violations.append(FieldViolation(f"{prefix}.phone", f"not a valid phone number: {data.phone!r}"))
        values["phone"] = norm_phone
    if "department" in paths:
        values["department"] = _reference(violations, data.department, "departments", f"{prefix}.department")
    if "manager" in paths:
        values["manager"] = _reference(violations, data.manager, "users", f"{prefix}.manager")
    if "roles" in paths:
        roles = _tags(violations, f"{prefix}.roles", data.roles)
        unknown = [r for r in roles if r not in ORG_ROLES]
        if unknown:
            violations.append(FieldViolation(f"{prefix}.roles", f"unknown roles {', '.join(unknown)}; "
                                                                 f"one of {', '.join(sorted(ORG_ROLES))}"))
        values["roles"] = roles
    for path in ("function_tags", "territories", "expertise"):
        if path in paths:
            values[path] = _tags(violations, f"{prefix}.{path}", getattr(data, path))
    if "capacity" in paths:
        if data.capacity < 0:
            violations.append(FieldViolation(f"{prefix}.capacity", "must not be negative (0 means no limit)"))
        values["capacity"] = data.capacity
    return values, violations


def check_user_references(values: dict[str, object], *, department_found: bool, manager: User | None,
                          manager_chain: Sequence[str] = (), user_id: str | None = None,
                          prefix: str = "user") -> list[FieldViolation]:
    """The department must exist; the manager must be an active user who is not (under) the user themself.

    ``manager_chain`` is the manager's own line of managers, upwards.
    """
    violations = []
    if values.get("department") and not department_found:
        violations.append(FieldViolation(f"{prefix}.department", f"no department departments/{values['department']}"))
    manager_id = values.get("manager")
    if manager_id:
        path = f"{prefix}.manager"
        if manager is None:
            violations.append(FieldViolation(path, f"no user users/{manager_id}"))
        elif not manager.active:
            violations.append(FieldViolation(path, f"{manager.name} is inactive"))
        elif user_id is not None and (manager.id == user_id or user_id in manager_chain):
            violations.append(FieldViolation(path, f"{manager.name} reports to users/{user_id}: a cycle"))
    return violations


def new_user(*, id: str, values: dict[str, object], now: datetime) -> User:
    """A user from checked values (``check_user_input`` over every path)."""
    user = User(id=id, display_name=values["display_name"], email=values["email"], phone=values.get("phone", ""),
                department_id=values.get("department"), manager_id=values.get("manager"),
                roles=values.get("roles", ()), function_tags=values.get("function_tags", ()),
                territories=values.get("territories", ()), expertise=values.get("expertise", ()),
                capacity=values.get("capacity", 0), active=True, create_time=now, update_time=now)
    user.events.append(UserCreated(user))
    return user


def check_mask(paths: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    """An update mask (the kit's rule): required, every path known; the paths once each, in the mask's order."""
    fieldmask.check(paths, allowed)
    return tuple(dict.fromkeys(paths))


def _bounded(violations: list[FieldViolation], path: str, value: str, limit: int, *, required: bool) -> str:
    if required and not value:
        violations.append(FieldViolation(path, "required"))
    elif len(value) > limit:
        violations.append(FieldViolation(path, f"at most {limit} characters"))
    return value


def _tags(violations: list[FieldViolation], path: str, raw: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, duplicates dropped, order kept; an empty or over-long entry is a violation."""
    tags = [t.strip() for t in raw]
    if any(not t for t in tags):
        violations.append(FieldViolation(path, "entries must not be empty"))
    elif any(len(t) > TAG_LIMIT for t in tags):
        violations.append(FieldViolation(path, f"entries are at most {TAG_LIMIT} characters"))
    return tuple(dict.fromkeys(t for t in tags if t))


def _reference(violations: list[FieldViolation], raw: str, collection: str, path: str) -> str | None:
    """An id from "collection/{id}", None when empty; a malformed name is a violation."""
    if not raw.strip():
        return None
    try:
        return names.parse(raw.strip(), collection, path)
    except InvalidArgument as exc:
        violations.extend(exc.violations)
        return None


# --- departments --------------------------------------------------------------------------------

@dataclass
class Department:
    id: str
    display_name: str
    parent_id: str | None
    head_id: str | None
    # "/<root id>/.../<id>/": the subtree of a department is every path with its path as prefix.
    path: str
    create_time: datetime
    update_time: datetime
    version: int = 1
    events: list = field(default_factory=list, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"departments/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    def contains(self, other: Department) -> bool:
        """Whether ``other`` is this department or lies below it."""
        return other.path.startswith(self.path)

    def update(self, values: dict[str, object], *, new_parent: Department | None,
               descendants: Sequence[Department], now: datetime) -> list[Department]:
        """Apply checked ``values``; every department whose state changed (this one, and on a move its subtree).

        A move under itself or under one of its descendants is refused (``DEPARTMENT_CYCLE``) and
        changes nothing. Each changed department gets a newer ``update_time`` and a DepartmentChanged.
        """
        moving = "parent" in values and values["parent"] != self.parent_id
        if moving and new_parent is not None and self.contains(new_parent):
            where = "itself" if new_parent.id == self.id else f"its own sub-department {new_parent.name}"
            raise FailedPrecondition(f"{self.name} cannot move under {where}", reason="DEPARTMENT_CYCLE",
                                     violations=[("DEPARTMENT_CYCLE", f"{new_parent.name} lies within {self.name}")],
                                     metadata={"resource": self.name, "parent": new_parent.name})
        changed = [p for p in ("display_name", "head") if p in values and values[p] != self.value_of(p)]
        if not changed and not moving:
            return []
        if "display_name" in changed:
            self.display_name = values["display_name"]
        if "head" in changed:
            self.head_id = values["head"]
        moved: list[Department] = []
        if moving:
            old_prefix = self.path
            self.parent_id = new_parent.id if new_parent else None
            self.path = department_path(new_parent, self.id)
            for d in descendants:
                d.path = rewrite_path(d.path, old_prefix, self.path)
                d.update_time = now
                d.version += 1
                d.events.append(DepartmentChanged(d))
                moved.append(d)
        self.update_time = now
        self.version += 1
        self.events.append(DepartmentChanged(self))
        return [self, *moved]

    def value_of(self, path: str) -> object:
        return {"display_name": self.display_name, "parent": self.parent_id, "head": self.head_id}[path]


@dataclass(frozen=True)
class DepartmentChanged:
    department: Department


def department_path(parent: Department | None, id: str) -> str:
    return f"{parent.path if parent else '/'}{id}/"


def rewrite_path(path: str, old_prefix: str, new_prefix: str) -> str:
    """A descendant's path after its ancestor at ``old_prefix`` moved to ``new_prefix``."""
    if not path.startswith(old_prefix):
        raise ValueError(f"{path} does not lie under {old_prefix}")
    return new_prefix + path[len(old_prefix):]


def check_department_input(data: DepartmentInput, paths: Iterable[str], prefix: str = "department") \
        -> tuple[dict[str, object], list[FieldViolation]]:
    paths = set(paths)
    values: dict[str, object] = {}
    violations: list[FieldViolation] = []
    if "display_name" in paths:
        values["display_name"] = _bounded(violations, f"{prefix}.display_name", " ".join(data.display_name.split()),
                                          NAME_LIMIT, required=True)
    if "parent" in paths:
        values["parent"] = _reference(violations, data.parent, "departments", f"{prefix}.parent")
    if "head" in paths:
        values["head"] = _reference(violations, data.head, "users", f"{prefix}.head")
    return values, violations


def check_department_references(values: dict[str, object], *, parent: Department | None, head: User | None,
                                prefix: str = "department") -> list[FieldViolation]:
    """The parent must exist; the head must be an active user."""
    violations = []
    if values.get("parent") and parent is None:
        violations.append(FieldViolation(f"{prefix}.parent", f"no department departments/{values['parent']}"))
    if values.get("head"):
        if head is None:
            violations.append(FieldViolation(f"{prefix}.head", f"no user users/{values['head']}"))
        elif not head.active:
            violations.append(FieldViolation(f"{prefix}.head", f"{head.name} is inactive"))
    return violations


def new_department(*, id: str, values: dict[str, object], parent: Department | None, now: datetime) -> Department:
    department = Department(id=id, display_name=values["display_name"], parent_id=parent.id if parent else None,
                            head_id=values.get("head"), path=department_path(parent, id), create_time=now,
                            update_time=now)
    department.events.append(DepartmentChanged(department))
    return department


# --- placements ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Placement:
    """Where a user (their department) or a department (its parent) was placed, and while."""

    subject_kind: str
    subject_id: str
    placed_under: str | None
    start_time: datetime
    end_time: datetime | None
    changed_by: str


def raise_if(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidArgument(violations)
