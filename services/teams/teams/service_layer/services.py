"""Teams use cases for the organisation (users, departments, placements, transfers): a command in,
state and events out, one transaction each. Opportunity teams are in ``opportunity_teams.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shangji_kit import names, paging
from shangji_kit.auth import Principal
from shangji_kit.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from teams.adapters.repository import UserFilter
from teams.domain import access, commands, model
from teams.service_layer.authorization import as_user_id, load_caller

if TYPE_CHECKING:  # the unit of work imports protomap, which imports this package's commands
    from teams.service_layer.unit_of_work import TeamsUnitOfWork


@dataclass(frozen=True)
class Page:
    items: list
    next_page_token: str


def _page(rows: list, limit: int) -> tuple[list, str]:
    """The page and the token of the next one; one row beyond the page tells whether another exists."""
    page = rows[:limit]
    return page, paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""


def _now() -> datetime:
    return datetime.now(UTC)


# --- users --------------------------------------------------------------------------------------

def _user_reference_violations(uow: TeamsUnitOfWork, values: dict, user_id: str | None,
                               prefix: str = "user") -> list[FieldViolation]:
    department_found = True
    if values.get("department"):
        department_found = uow.departments.get(values["department"]) is not None
    manager, chain = None, ()
    if values.get("manager"):
        manager = uow.users.get(values["manager"])
        if manager is not None and user_id is not None:
            chain = uow.users.manager_chain(manager.id)
    return model.check_user_references(values, department_found=department_found, manager=manager,
                                       manager_chain=chain, user_id=user_id, prefix=prefix)


def create_user(cmd: commands.CreateUser, principal: Principal, uow: TeamsUnitOfWork) -> model.User:
    now = _now()
    with uow:
        caller = load_caller(principal, uow)
        access.require_admin(caller, "create users")
        if cmd.request_id:
            earlier = uow.users.get_by_request_id(cmd.request_id)
            if earlier:
                return earlier
        values, violations = model.check_user_input(cmd.user, model.USER_PATHS)
        violations += _user_reference_violations(uow, values, user_id=None)
        model.raise_if(violations)
        user = model.new_user(id=str(uuid.uuid4()), values=values, now=now)
        if uow.users.add(user, cmd.request_id) is None:
            # A concurrent create took the request id or the email first; ours wrote nothing.
            earlier = uow.users.get_by_request_id(cmd.request_id) if cmd.request_id else None
            if earlier:
                return earlier
            raise AlreadyExists(f"a user with email {user.email} exists", reason="EMAIL_TAKEN",
                                metadata={"email": user.email})
        uow.placements.place(model.USER, user.id, user.department_id, now=now, changed_by=caller.user_id)
        uow.publish(user.events)
        uow.commit()
        return user


def get_user(user_id: str, principal: Principal, uow: TeamsUnitOfWork) -> model.User:
    with uow:
        caller = load_caller(principal, uow)
        user = uow.users.get(user_id)
        if user is None:
            raise NotFound(f"users/{user_id}")
        return _as_seen_by(caller, [user], uow)[0]


def _as_seen_by(caller: access.Caller, users: list[model.User], uow: TeamsUnitOfWork) -> list[model.User]:
    """The contact directory applied to ``users`` (email and phone blanked where the caller may not see them)."""
    mates: set[str] = set()
    caller_id = as_user_id(caller.user_id)
    if caller_id is not None and not caller.sees_everything:
        mates = uow.users.team_mates(caller_id, [u.id for u in users])
    return [access.as_seen_by(caller, u, u.id in mates) for u in users]


def list_users(cmd: commands.ListUsers, principal: Principal, uow: TeamsUnitOfWork) -> Page:
    limit = paging.page_size(cmd.page_size)
    after = paging.decode_token(cmd.page_token)
    department_id = names.parse(cmd.department, "departments", "department") if cmd.department else None
    if cmd.role and cmd.role not in model.ORG_ROLES:
        raise InvalidArgument.field("role", f"unknown role {cmd.role!r}; one of {', '.join(sorted(model.ORG_ROLES))}")
    with uow:
        caller = load_caller(principal, uow)
        path = None
        if department_id is not None:
            path = uow.departments.path_of(department_id)
            if path is None:  # an unknown department has nobody in it
                return Page([], "")
        rows = uow.users.list(UserFilter(department_path=path, role=cmd.role, territory=cmd.territory.strip(),
                                         expertise=cmd.expertise.strip(), include_inactive=cmd.include_inactive),
                              limit + 1, after)
        page, token = _page(rows, limit)
        return Page(_as_seen_by(caller, page, uow), token)


def update_user(cmd: commands.UpdateUser, principal: Principal, uow: TeamsUnitOfWork) -> model.User:
    now = _now()
    with uow:
        caller = load_caller(principal, uow)
        access.require_admin(caller, "update users")
        paths = model.check_mask(cmd.paths, model.USER_PATHS)
        user_id = names.parse(cmd.name, "users", "user.name")
        values, violations = model.check_user_input(cmd.user, paths)
        user = uow.users.get(user_id, for_update=True)
        if user is None:
            raise NotFound(f"users/{user_id}")
        model.check_etag(user.name, user.etag, cmd.etag)
        violations += _user_reference_violations(uow, values, user_id=user.id)
        model.raise_if(violations)
        read_version = user.version
        changed = user.update(values, now)
        if changed:
            uow.users.update(user, read_version)
            if "department" in changed:
                uow.placements.place(model.USER, user.id, user.department_id, now=now, changed_by=caller.user_id)
            uow.publish(user.events)
            uow.commit()
        return user


def deactivate_user(cmd: commands.DeactivateUser, principal: Principal, uow: TeamsUnitOfWork) -> model.User:
    now = _now()
    with uow:
        caller = load_caller(principal, uow)
        access.require_admin(caller, "deactivate users")
        user_id = names.parse(cmd.name, "users", "name")
        successor_id = names.parse(cmd.successor, "users", "successor")
        found = uow.users.get_many({user_id, successor_id}, for_update=True)
        user = found.get(user_id)
        if user is None:
            raise NotFound(f"users/{user_id}")
        model.check_etag(user.name, user.etag, cmd.etag)
        successor = found.get(successor_id)
        if successor is None:
            raise InvalidArgument.field("successor", f"no user users/{successor_id}")
        read_version = user.version
        user.deactivate(successor, transfer_id=str(uuid.uuid4()), requested_by=caller.user_id, now=now)
        uow.users.update(user, read_version)
        # Our own OwnershipTransferred moves the opportunities teams knows the owners of, in this transaction.
        uow.opportunity_teams.transfer_owner(user.id, successor.id)
        uow.publish(user.events)
        uow.commit()
        return user


def transfer_ownership(cmd: commands.TransferOwnership, principal: Principal, uow: TeamsUnitOfWork) -> str:
    """Move ``from_user``'s open leads and opportunities to ``to_user``; the transfer's id."""
    now = _now()
    with uow:
        caller = load_caller(principal, uow)
        from_id = names.parse(cmd.from_user, "users", "from_user")
        to_id = names.parse(cmd.to_user, "users", "to_user")
        found = uow.users.get_many({from_id, to_id}, for_update=True)
        from_user = found.get(from_id)
        if from_user is None:
            raise NotFound(f"users/{from_id}")
        if not access.may_transfer(caller, uow.departments.path_of(from_user.department_id)):
            raise PermissionDenied(f"only an admin or a head above {from_user.name}'s department may move their "
                                   "records", reason="NOT_A_MANAGER", metadata={"caller": caller.name})
        to_user = found.get(to_id)
        if to_user is None:
            raise InvalidArgument.field("to_user", f"no user users/{to_id}")
        event = model.transfer_ownership(from_user, to_user, transfer_id=str(uuid.uuid4()),
                                         requested_by=caller.user_id, now=now)
        uow.opportunity_teams.transfer_owner(from_user.id, to_user.id)
        uow.publish([event])
        uow.commit()
        return event.transfer_id


# --- departments --------------------------------------------------------------------------------

def _department_references(uow: TeamsUnitOfWork, values: dict) -> tuple[model.Department | None,
                                                                         list[FieldViolation]]:
    parent = uow.departments.get(values["parent"]) if values.get("parent") else None
    head = uow.users.get(values["head"]) if values.get("head") else None
    return parent, model.check_department_references(values, parent=parent, head=head)


def create_department(cmd: commands.CreateDepartment, principal: Principal,
                      uow: TeamsUnitOfWork) -> model.Department:
    now = _now()
    with uow:
        caller = load_caller(principal, uow)
        access.require_admin(caller, "create departments")
        if cmd.request_id:
            earlier = uow.departments.get_by_request_id(cmd.request_id)
            if earlier:
                return earlier
        values, violations = model.check_department_input(cmd.department, model.DEPARTMENT_PATHS)
        if values.get("parent"):
            uow.departments.lock_tree()  # the parent's path must not move while the child takes it
        parent, more = _department_references(uow, values)
        model.raise_if(violations + more)
        department = model.new_department(id=str(uuid.uuid4()), values=values, parent=parent, now=now)
        if uow.departments.add(department, cmd.request_id) is None:
            # A concurrent create with the same request id committed first; ours wrote nothing.
            return uow.departments.get_by_request_id(cmd.request_id)
        uow.placements.place(model.DEPARTMENT, department.id, department.parent_id, now=now,
                             changed_by=caller.user_id)
        uow.publish(department.events)
        uow.commit()
        return department


def get_department(department_id: str, uow: TeamsUnitOfWork) -> model.Department:
    with uow:
        department = uow.departments.get(department_id)
        if department is None:
            raise NotFound(f"departments/{department_id}")
        return department


def list_departments(cmd: commands.ListDepartments, uow: TeamsUnitOfWork) -> Page:
    limit = paging.page_size(cmd.page_size)
    after = paging.decode_token(cmd.page_token)
    parent_id = names.parse(cmd.parent, "departments", "parent") if cmd.parent else None
    with uow:
        rows = uow.departments.list(parent_id, limit + 1, after)
    return Page(*_page(rows, limit))


def update_department(cmd: commands.UpdateDepartment, principal: Principal,
                      uow: TeamsUnitOfWork) -> model.Department:
    """Rename, re-head or move a department. A move rewrites its subtree's paths in the same transaction
    and emits a DepartmentChanged for every department whose path changed."""
    now = _now()
    with uow:
        caller = load_caller(principal, uow)
        access.require_admin(caller, "update departments")
        paths = model.check_mask(cmd.paths, model.DEPARTMENT_PATHS)
        department_id = names.parse(cmd.name, "departments", "department.name")
        values, violations = model.check_department_input(cmd.department, paths)
        if "parent" in values:
            uow.departments.lock_tree()  # moves one at a time: two crossing moves cannot make a cycle together
        department = uow.departments.get(department_id, for_update=True)
        if department is None:
            raise NotFound(f"departments/{department_id}")
        model.check_etag(department.name, department.etag, cmd.etag)
        new_parent, more = _department_references(uow, values)
        model.raise_if(violations + more)
        moving = "parent" in values and values["parent"] != department.parent_id
        descendants = uow.departments.descendants(department, for_update=True) if moving else []
        read_versions = {d.id: d.version for d in (department, *descendants)}
        changed = department.update(values, new_parent=new_parent, descendants=descendants, now=now)
        if changed:
            uow.departments.update([(d, read_versions[d.id]) for d in changed])
            if moving:
                uow.placements.place(model.DEPARTMENT, department.id, department.parent_id, now=now,
                                     changed_by=caller.user_id)
            for d in changed:
                uow.publish(d.events)
            uow.commit()
        return department


# --- placement history --------------------------------------------------------------------------

def list_placement_history(name: str, uow: TeamsUnitOfWork) -> list[model.Placement]:
    if name.startswith("users/"):
        kind, subject_id = model.USER, names.parse(name, "users")
    elif name.startswith("departments/"):
        kind, subject_id = model.DEPARTMENT, names.parse(name, "departments")
    else:
        raise InvalidArgument.field("name", f"must be users/{{id}} or departments/{{id}}, got {name!r}")
    with uow:
        exists = (uow.users.get(subject_id) if kind == model.USER else uow.departments.get(subject_id)) is not None
        if not exists:
            raise NotFound(name)
        return uow.placements.history(kind, subject_id)
