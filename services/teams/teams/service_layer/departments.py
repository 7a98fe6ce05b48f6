"""Departments: the tree admins keep (a move rewrites its subtree's paths), read by everyone; and the history of
where users and departments were placed."""

from __future__ import annotations

import uuid

from shangji_kit import names, paging
from shangji_kit.auth import Principal
from shangji_kit.clock import Clock, utc_now
from shangji_kit.errors import FieldViolation, InvalidArgument, NotFound
from shangji_kit.request_ids import RequestKey
from teams.domain import access, commands, model
from teams.service_layer.authorization import load_caller
from teams.service_layer.unit_of_work import TeamsUnitOfWork

CREATE_DEPARTMENT = "CreateDepartment"


def _references(uow: TeamsUnitOfWork, values: dict) -> tuple[model.Department | None, list[FieldViolation]]:
    parent = uow.departments.get(values["parent"]) if values.get("parent") else None
    head = uow.users.get(values["head"]) if values.get("head") else None
    return parent, model.check_department_references(values, parent=parent, head=head)


def create_department(cmd: commands.CreateDepartment, principal: Principal, uow: TeamsUnitOfWork,
                      clock: Clock = utc_now) -> model.Department:
    """A retry with the caller's request id returns the first department; concurrent retries make one."""
    now = clock()
    new_id = str(uuid.uuid4())
    with uow:
        caller = load_caller(principal, uow)
        access.require_admin(caller, "create departments")
        earlier = uow.request_ids.claim(RequestKey.of(caller.user_id, CREATE_DEPARTMENT, cmd.request_id), new_id)
        if earlier is not None:
            return uow.departments.get(earlier)
        values, violations = model.check_department_input(cmd.department, model.DEPARTMENT_PATHS)
        if values.get("parent"):
            uow.departments.lock_tree()  # the parent's path must not move while the child takes it
        parent, more = _references(uow, values)
        model.raise_if(violations + more)
        department = model.new_department(id=new_id, values=values, parent=parent, now=now)
        uow.departments.add(department)
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


def list_departments(cmd: commands.ListDepartments, uow: TeamsUnitOfWork) -> paging.Page:
    limit = paging.page_size(cmd.page_size)
    after = paging.decode_token(cmd.page_token)
    parent_id = names.parse(cmd.parent, "departments", "parent") if cmd.parent else None
    with uow:
        rows = uow.departments.list(parent_id, limit + 1, after)
    return paging.keyset_page(rows, limit)


def update_department(cmd: commands.UpdateDepartment, principal: Principal, uow: TeamsUnitOfWork,
                      clock: Clock = utc_now) -> model.Department:
    """Rename, re-head or move a department. A move rewrites its subtree's paths in the same transaction
    and emits a DepartmentChanged for every department whose path changed."""
    now = clock()
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
        new_parent, more = _references(uow, values)
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
