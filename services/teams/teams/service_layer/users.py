"""Users: created, read, listed, updated and deactivated by admins (the contact directory for everyone else);
their open records moved by ownership transfers."""

from __future__ import annotations

import uuid

from shangji_kit import caller as callers
from shangji_kit import names, paging
from shangji_kit.auth import Principal
from shangji_kit.clock import Clock, utc_now
from shangji_kit.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.request_ids import RequestKey
from teams.domain import access, commands, model
from teams.domain.queries import UserFilter
from teams.service_layer.authorization import load_caller
from teams.service_layer.unit_of_work import TeamsUnitOfWork

CREATE_USER = "CreateUser"


def _reference_violations(uow: TeamsUnitOfWork, values: dict, user_id: str | None,
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


def create_user(cmd: commands.CreateUser, principal: Principal, uow: TeamsUnitOfWork,
                clock: Clock = utc_now) -> model.User:
    """A retry with the caller's request id returns the first user; concurrent retries make one."""
    now = clock()
    new_id = str(uuid.uuid4())
    with uow:
        caller = load_caller(principal, uow)
        access.require_admin(caller, "create users")
        earlier = uow.request_ids.claim(RequestKey.of(caller.user_id, CREATE_USER, cmd.request_id), new_id)
        if earlier is not None:
            return uow.users.get(earlier)
        values, violations = model.check_user_input(cmd.user, model.USER_PATHS)
        violations += _reference_violations(uow, values, user_id=None)
        model.raise_if(violations)
        user = model.new_user(id=new_id, values=values, now=now)
        if uow.users.add(user) is None:
            raise AlreadyExists(f"a user with email {user.email} exists", reason="EMAIL_TAKEN",
                                metadata={"email": user.email})
        uow.placements.place(model.USER, user.id, user.department_id, now=now, changed_by=caller.user_id)
        uow.publish(user.events)
        uow.commit()
        return user


def _as_seen_by(caller: access.Caller, users: list[model.User], uow: TeamsUnitOfWork) -> list[model.User]:
    """The contact directory applied to ``users`` (email and phone blanked where the caller may not see them)."""
    mates: set[str] = set()
    caller_id = callers.as_user_id(caller.user_id)
    if caller_id is not None and not caller.sees_everything:
        mates = uow.users.team_mates(caller_id, [u.id for u in users])
    return [access.as_seen_by(caller, u, u.id in mates) for u in users]


def get_user(user_id: str, principal: Principal, uow: TeamsUnitOfWork) -> model.User:
    with uow:
        caller = load_caller(principal, uow)
        user = uow.users.get(user_id)
        if user is None:
            raise NotFound(f"users/{user_id}")
        return _as_seen_by(caller, [user], uow)[0]


def list_users(cmd: commands.ListUsers, principal: Principal, uow: TeamsUnitOfWork) -> paging.Page:
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
                return paging.Page([], "")
        rows = uow.users.list(UserFilter(department_path=path, role=cmd.role, territory=cmd.territory.strip(),
                                         expertise=cmd.expertise.strip(), include_inactive=cmd.include_inactive),
                              limit + 1, after)
        page = paging.keyset_page(rows, limit)
        return paging.Page(_as_seen_by(caller, page.items, uow), page.next_page_token)


def update_user(cmd: commands.UpdateUser, principal: Principal, uow: TeamsUnitOfWork,
                clock: Clock = utc_now) -> model.User:
    now = clock()
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
        violations += _reference_violations(uow, values, user_id=user.id)
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


def deactivate_user(cmd: commands.DeactivateUser, principal: Principal, uow: TeamsUnitOfWork,
                    clock: Clock = utc_now) -> model.User:
    now = clock()
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


def transfer_ownership(cmd: commands.TransferOwnership, principal: Principal, uow: TeamsUnitOfWork,
                       clock: Clock = utc_now) -> str:
    """Move ``from_user``'s open leads and opportunities to ``to_user``; the transfer's id."""
    now = clock()
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
        uow.add(event)
        uow.commit()
        return event.transfer_id
