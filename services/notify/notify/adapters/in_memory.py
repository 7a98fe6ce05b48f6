"""notify's unit of work in memory, on the kit's fakes (``shangji_kit.testing.fakes``), with a clock moved by
hand and a channel that records what it was given: the use cases run on them without PostgreSQL or RabbitMQ.

The repositories keep the rules storage enforces: one notice per source and recipient, one delivery per
(event, recipient, channel), one reminder per (type, subject, recipient, due time).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from operator import itemgetter

from notify.domain.delivery import DEAD, PENDING, SENT, Delivery
from notify.domain.model import Notification
from notify.domain.preferences import DepartmentRobot, Preferences
from notify.domain.reminders import Reminder
from shangji_kit.testing.fakes import FakeOrgProjection, FakeRepository, FakeUnitOfWork


@dataclass(frozen=True)
class _Stored:
    notice: Notification
    source: str


class InMemoryNotifications(FakeRepository[str, _Stored]):
    def __init__(self) -> None:
        super().__init__(key=lambda r: r.notice.id)

    def add(self, n: Notification, source: str) -> bool:  # type: ignore[override]
        if any(r.source == source and r.notice.recipient_id == n.recipient_id for r in self._rows.values()):
            return False
        return super().add(_Stored(n, source))

    def _mine(self, recipient_id: str) -> list[Notification]:
        return [r.notice for r in self.rows() if r.notice.recipient_id == recipient_id]

    def list_received(self, recipient_id, limit, after, unread_only):
        rows = sorted(self._mine(recipient_id), key=lambda n: (-n.create_time.timestamp(), n.id))
        if unread_only:
            rows = [n for n in rows if not n.read]
        if after is not None:
            t, i = after
            rows = [n for n in rows if n.create_time < t or (n.create_time == t and n.id > i)]
        return rows[:limit]

    def count_unread(self, recipient_id):
        return sum(not n.read for n in self._mine(recipient_id))

    def get_for_update(self, notification_id):  # noqa: D102 - a row lock has no meaning in memory
        found = super().get(notification_id)
        return found.notice if found else None

    def get(self, notification_id):  # type: ignore[override]
        return self.get_for_update(notification_id)

    def save_read(self, n):
        super().save(_Stored(n, self._rows[n.id].source))

    def mark_all_read(self, recipient_id, now):
        unread = [n for n in self._mine(recipient_id) if not n.read]
        for n in unread:
            self.save_read(replace(n, read=True, read_time=now))
        return len(unread)

    def newer_than(self, recipient_id, after, limit):
        rows = sorted(self._mine(recipient_id), key=lambda n: (n.create_time, n.id))
        if after is None:
            return rows[-1:]
        return [n for n in rows if (n.create_time, n.id) > after][:limit]

    def of(self, recipient_id: str) -> list[Notification]:
        return [r.notice for r in self.committed() if r.notice.recipient_id == recipient_id]


class InMemoryDeliveries(FakeRepository[str, Delivery]):
    def add(self, d: Delivery) -> bool:
        key = (d.source_event_id, d.recipient, d.channel)
        if any((x.source_event_id, x.recipient, x.channel) == key for x in self._rows.values()):
            return False
        return super().add(d)

    def claim_due(self, channel, now, limit, lease_until):
        due = sorted((d for d in self.rows() if d.channel == channel and d.state == PENDING
                      and d.next_attempt_time <= now), key=lambda d: d.next_attempt_time)[:limit]
        for d in due:
            self.save(replace(d, next_attempt_time=lease_until))
        return sorted(due, key=lambda d: (d.create_time, d.id))

    def claim_digest(self, channel, recipient, now, lease_until):
        due = [d for d in self.rows() if d.channel == channel and d.recipient == recipient and d.digest
               and d.state == PENDING and d.next_attempt_time <= now]
        for d in due:
            self.save(replace(d, next_attempt_time=lease_until))
        return sorted(due, key=lambda d: (d.create_time, d.id))

    def save_all(self, recorded):
        for d in recorded:
            self.save(d)

    def sent_times(self, endpoint_key, since):
        return sorted(d.sent_time for d in self.rows()
                      if d.endpoint_key == endpoint_key and d.state == SENT and d.sent_time > since)

    def get_for_update(self, delivery_id):
        return self.get(delivery_id)

    def list_dead(self, limit, after, channel):
        rows = sorted((d for d in self.rows() if d.state == DEAD and (not channel or d.channel == channel)),
                      key=lambda d: (-d.create_time.timestamp(), d.id))
        if after is not None:
            t, i = after
            rows = [d for d in rows if d.create_time < t or (d.create_time == t and d.id > i)]
        return rows[:limit]


class InMemoryPreferences(FakeRepository[str, Preferences]):
    def __init__(self) -> None:
        super().__init__(key=lambda p: p.user_id)

    def save(self, prefs: Preferences, now: datetime | None = None) -> Preferences:  # type: ignore[override]
        saved = replace(prefs, etag=prefs.etag + 1)
        super().save(saved)
        return saved


class InMemoryRobots(FakeRepository[str, DepartmentRobot]):
    def __init__(self, org: FakeOrgProjection) -> None:
        super().__init__()
        self.org = org

    def list(self, department_id):
        return [r for r in self.rows() if r.department_id == department_id]

    def of_members_department(self, user_id):
        department = self.org.department_of(user_id)
        return self.list(department) if department else []

    def get(self, department_id, robot_id=None):  # type: ignore[override]
        r = super().get(robot_id)
        return r if r is not None and r.department_id == department_id else None

    def delete(self, department_id, robot_id):
        if self.get(department_id, robot_id) is None:
            return False
        self.remove(robot_id)
        return True


class InMemoryOrganisation(FakeOrgProjection):
    """The kit's fake projection and what notify asks of it."""

    def __init__(self) -> None:
        super().__init__()
        self.contacts: FakeRepository[str, tuple[str, str]] = FakeRepository(key=lambda c: c[0])

    def begin(self) -> None:
        super().begin()
        self.contacts.begin()

    def commit(self) -> None:
        super().commit()
        self.contacts.commit()

    def rollback(self) -> None:
        super().rollback()
        self.contacts.rollback()

    def save_contact(self, user_id, email, display_name, update_time):
        self.contacts.save((user_id, email))

    def _path_ids(self, department_id: str | None) -> list[str]:
        d = self.departments.get(department_id or "")
        return [p for p in d.path.strip("/").split("/") if p] if d else []

    def heads_above(self, user_id):
        for dept_id in reversed(self._path_ids(self.department_of(user_id))):
            head = self.departments.get(dept_id).head_id
            if head and head != user_id and self.is_active(head):
                return [head]
        return []

    def holders_of(self, role):
        return sorted(u.user_id for u in self.users.rows() if u.active and role in u.roles)

    def email_of(self, user_id):
        found = self.contacts.get(user_id)
        return found[1] if found else ""

    def roles_of(self, user_id):
        u = self.users.get(user_id)
        return u.roles if u and u.active else ()

    def manages_department(self, user_id, department_id):
        return any(self.departments.get(i).head_id == user_id for i in self._path_ids(department_id))


@dataclass(frozen=True)
class _Planned:
    reminder: Reminder
    state: str = "PENDING"


class InMemoryReminders(FakeRepository[str, _Planned]):
    def __init__(self) -> None:
        super().__init__(key=lambda p: p.reminder.id)

    def add(self, r: Reminder) -> bool:  # type: ignore[override]
        key = (r.notice_type, r.subject, r.recipient_id, r.due_time)
        if any((p.reminder.notice_type, p.reminder.subject, p.reminder.recipient_id, p.reminder.due_time) == key
               for p in self._rows.values()):
            return False
        return super().add(_Planned(r))

    def cancel(self, subject, notice_types):
        hit = [p for p in self.rows() if p.reminder.subject == subject and p.reminder.notice_type in notice_types
               and p.state == "PENDING"]
        for p in hit:
            self.save(replace(p, state="CANCELLED"))
        return len(hit)

    def move(self, deal, from_id, to_id):
        def about(r: Reminder) -> bool:
            return r.recipient_id == from_id and (r.subject == deal or r.subject.startswith(f"{deal}/tasks/"))

        theirs = {(p.reminder.notice_type, p.reminder.subject, p.reminder.due_time) for p in self.rows()
                  if p.reminder.recipient_id == to_id}
        moved = 0
        for p in [p for p in self.rows() if p.state == "PENDING" and about(p.reminder)]:
            if (p.reminder.notice_type, p.reminder.subject, p.reminder.due_time) in theirs:
                self.save(replace(p, state="CANCELLED"))
            else:
                self.save(replace(p, reminder=replace(p.reminder, recipient_id=to_id)))
                moved += 1
        return moved

    def add_all(self, planned: list[Reminder]) -> int:
        return sum(self.add(r) for r in planned)

    def claim_due(self, now, limit):
        return sorted((p.reminder for p in self.rows() if p.state == "PENDING" and p.reminder.due_time <= now),
                      key=lambda r: r.due_time)[:limit]

    def fired(self, reminder_id):
        self.save(replace(super().get(reminder_id), state="FIRED"))

    def states(self, subject: str) -> list[tuple[str, str]]:
        return sorted((p.reminder.notice_type, p.state) for p in self.committed() if p.reminder.subject == subject)


class InMemoryDealOwners(FakeRepository[str, tuple[str, str, datetime]]):
    """(deal, owner, change time) rows."""

    def __init__(self) -> None:
        super().__init__(key=itemgetter(0))

    def record(self, deal: str, owner_id: str, change_time: datetime) -> str:
        held = self.get(deal)
        if held is None or held[2] < change_time:
            self.save((deal, owner_id, change_time))
            return owner_id
        return held[1]


class InMemoryNotifyUnitOfWork(FakeUnitOfWork):
    """Besides the kit's fake: notify's repositories, and ``woken`` (recipients told after each commit)."""

    def __init__(self) -> None:
        super().__init__()
        self.notifications = InMemoryNotifications()
        self.deliveries = InMemoryDeliveries()
        self.preferences = InMemoryPreferences()
        self.org = InMemoryOrganisation()
        self.robots = InMemoryRobots(self.org)
        self.reminders = InMemoryReminders()
        self.deal_owners = InMemoryDealOwners()
        self.woken: list[str] = []
        self._wakes: list[str] = []

    def __enter__(self) -> InMemoryNotifyUnitOfWork:
        super().__enter__()
        self._wakes = []
        return self

    def commit(self) -> None:
        super().commit()
        self.woken += self._wakes
        self._wakes = []

    def wake(self, recipient_id: str) -> None:
        self._wakes.append(recipient_id)

    def deliveries_of(self, channel: str | None = None) -> list[Delivery]:
        return sorted((d for d in self.deliveries.committed() if channel is None or d.channel == channel),
                      key=lambda d: (d.create_time, d.recipient))


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class RecordingSender:
    """A channel that takes everything, or fails the way it is told (``failures``, first one first)."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self.failures: list[Exception] = []

    def send(self, endpoint, message) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((endpoint, message))
