"""In-memory fakes of the unit of work and its repositories, so use cases run in unit tests without servers.

A service's fake unit of work subclasses ``FakeUnitOfWork`` and sets its repositories as attributes
(``FakeRepository`` subclasses, ``FakeOrgProjection``); every ``Transactional`` attribute takes part in
the transaction: what is not committed is gone after the ``with`` block, as in PostgreSQL.

    uow = FakeSamplesUnitOfWork()
    services.create_product(..., uow)
    assert uow.committed == 1 and uow.products.get("PUMP") is not None
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from shangji_kit.abstract_uow import AbstractUnitOfWork, EventEncoder
from shangji_kit.inbox import Delivery
from shangji_kit.request_ids import RequestKey
from shangji_kit.visibility import GLOBAL_ROLES, OrgDepartment, OrgUser, Viewer

K = TypeVar("K")
T = TypeVar("T")


class Transactional:
    """State that a fake unit of work begins, commits and rolls back."""

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class FakeRepository(Transactional, Generic[K, T]):
    """Rows of one kind keyed by ``key(row)`` (default: ``row.id``). Rows are copied in and out, so an
    aggregate changed but not saved leaves the stored one as it was, like a database row."""

    def __init__(self, key: Callable[[T], K] = attrgetter("id")) -> None:
        self.key = key
        self._committed: dict[K, T] = {}
        self._rows: dict[K, T] = {}

    # the transaction
    def begin(self) -> None:
        self._rows = copy.deepcopy(self._committed)

    def commit(self) -> None:
        self._committed = copy.deepcopy(self._rows)

    def rollback(self) -> None:
        self._rows = copy.deepcopy(self._committed)

    def seed(self, *rows: T) -> None:
        """Rows committed before the test: a test's arrangement, outside any transaction."""
        for row in rows:
            self._committed[self.key(row)] = copy.deepcopy(row)
            self._rows[self.key(row)] = copy.deepcopy(row)

    # rows
    def add(self, row: T) -> bool:
        """False (and nothing stored) when the key is taken."""
        if self.key(row) in self._rows:
            return False
        self._rows[self.key(row)] = copy.deepcopy(row)
        return True

    def save(self, row: T) -> None:
        self._rows[self.key(row)] = copy.deepcopy(row)

    def get(self, key: K) -> T | None:
        row = self._rows.get(key)
        return copy.deepcopy(row) if row is not None else None

    def remove(self, key: K) -> None:
        self._rows.pop(key, None)

    def rows(self) -> Iterator[T]:
        """Every row in this transaction (copies), in insertion order."""
        return (copy.deepcopy(r) for r in self._rows.values())

    def committed(self) -> list[T]:
        """What a later transaction would see."""
        return [copy.deepcopy(r) for r in self._committed.values()]

    def __len__(self) -> int:
        return len(self._rows)


class FakeInbox(FakeRepository[tuple[str, str], Delivery]):
    def __init__(self) -> None:
        super().__init__(key=lambda d: (d.consumer, d.event_id))

    def claim(self, delivery: Delivery) -> bool:
        return self.add(delivery)


class FakeRequestIds(FakeRepository[RequestKey, tuple[RequestKey, str]]):
    """``shangji_kit.request_ids.RequestIds`` in memory."""

    def __init__(self) -> None:
        super().__init__(key=lambda row: row[0])

    def find(self, key: RequestKey | None) -> str | None:
        row = self.get(key) if key is not None else None
        return row[1] if row else None

    def claim(self, key: RequestKey | None, resource_id: str) -> str | None:
        if key is None:
            return None
        original = self.find(key)
        if original is None:
            self.add((key, resource_id))
        return original

    def used_by_another(self, key: RequestKey | None) -> bool:
        return key is not None and any(k.operation == key.operation and k.request_id == key.request_id
                                       and k.caller != key.caller for k, _ in self.rows())


class FakeOrgProjection(Transactional):
    """``shangji_kit.org_projection.OrgProjection`` in memory, with the kit's visibility rules."""

    def __init__(self) -> None:
        self.users: FakeRepository[str, OrgUser] = FakeRepository(attrgetter("user_id"))
        self.departments: FakeRepository[str, OrgDepartment] = FakeRepository()

    def begin(self) -> None:
        self.users.begin()
        self.departments.begin()

    def commit(self) -> None:
        self.users.commit()
        self.departments.commit()

    def rollback(self) -> None:
        self.users.rollback()
        self.departments.rollback()

    def apply_user(self, user: OrgUser) -> None:
        held = self.users.get(user.user_id)
        if held is None or held.update_time <= user.update_time:
            self.users.save(user)

    def apply_department(self, department: OrgDepartment) -> None:
        held = self.departments.get(department.id)
        if held is None or held.update_time <= department.update_time:
            self.departments.save(department)

    def viewer(self, user_id: str) -> Viewer:
        user = self.users.get(user_id)
        active = bool(user and user.active)
        paths = tuple(d.path for d in self.departments.rows() if d.head_id == user_id) if active else ()
        return Viewer(user_id=user_id, sees_everything=active and bool(set(user.roles) & GLOBAL_ROLES),
                      headed_paths=paths, deactivated=user is not None and not user.active)

    def is_active(self, user_id: str) -> bool | None:
        user = self.users.get(user_id)
        return None if user is None else user.active

    def roles_of(self, user_id: str) -> tuple[str, ...] | None:
        user = self.users.get(user_id)
        return None if user is None else tuple(user.roles)

    def department_of(self, user_id: str) -> str | None:
        user = self.users.get(user_id)
        return user.department_id if user else None

    def manages(self, viewer: Viewer, owner_id: str) -> bool:
        if not viewer.headed_paths or owner_id == viewer.user_id:
            return False
        department = self.departments.get(self.department_of(owner_id) or "")
        return department is not None and any(department.path.startswith(p) for p in viewer.headed_paths)

    def can_see(self, viewer: Viewer, owner_id: str, *, on_team: bool = False) -> bool:
        """``visibility.visible_clause`` for one record: its owner, and whether the viewer is on its team."""
        if viewer.sees_everything:
            return True
        if viewer.deactivated:
            return owner_id == viewer.user_id
        return owner_id == viewer.user_id or on_team or self.manages(viewer, owner_id)


class FakeUnitOfWork(AbstractUnitOfWork):
    """Counts commits, keeps the domain events committed (``events``) and, with an encoder, the proto
    messages the outbox would have written (``messages``: (message, subject))."""

    def __init__(self, encoder: EventEncoder | None = None) -> None:
        self.encoder = encoder
        self.inbox = FakeInbox()
        self.request_ids = FakeRequestIds()
        self.committed = 0
        self.events: list[Any] = []
        self.messages: list[tuple[Message, str]] = []
        self._pending: list[Any] = []

    def _parts(self) -> list[Transactional]:
        return [v for v in vars(self).values() if isinstance(v, Transactional)]

    def __enter__(self) -> FakeUnitOfWork:
        for part in self._parts():
            part.begin()
        self._pending = []
        return self

    def commit(self) -> None:
        self._check_writable()
        for part in self._parts():
            part.commit()
        if self.encoder is not None:
            self.messages.extend(self.encoder(e) for e in self._pending)
        self.events.extend(self._pending)
        self._pending = []
        self.committed += 1

    def rollback(self) -> None:
        for part in self._parts():
            part.rollback()
        self._pending = []

    def claim(self, delivery: Delivery) -> bool:
        self._check_writable()
        return self.inbox.claim(delivery)

    def add(self, event: object) -> None:
        self._check_writable()
        self._pending.append(event)
