"""In-memory notify unit of work, repositories, a hand-moved clock and a recording channel: the use cases run
on them in unit tests without PostgreSQL or RabbitMQ.

They keep the rules storage enforces (one notice per source and recipient, one delivery per event,
recipient and channel, an inbox claim per consumer and event) and commit or discard like a transaction.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import datetime

from notify.domain.delivery import DEAD, PENDING, SENT, Delivery
from notify.domain.model import Notification
from notify.domain.preferences import DepartmentRobot, Preferences
from notify.domain.reminders import Reminder
from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit.inbox import Delivery as EventDelivery
from shangji_kit.visibility import OrgDepartment, OrgUser


@dataclass
class Store:
    """What the fake database holds."""

    notifications: dict[str, tuple[Notification, str]] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    preferences: dict[str, Preferences] = field(default_factory=dict)
    robots: dict[str, DepartmentRobot] = field(default_factory=dict)
    users: dict[str, OrgUser] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    departments: dict[str, OrgDepartment] = field(default_factory=dict)
    reminders: dict[str, tuple[Reminder, str]] = field(default_factory=dict)
    inbox: set[tuple[str, str]] = field(default_factory=set)


class FakeNotifications:
    def __init__(self, s: Store) -> None:
        self.s = s

    def add(self, n: Notification, source: str) -> bool:
        if any(src == source and m.recipient_id == n.recipient_id for m, src in self.s.notifications.values()):
            return False
        self.s.notifications[n.id] = (copy.copy(n), source)
        return True

    def _mine(self, recipient_id: str) -> list[Notification]:
        return [copy.copy(n) for n, _ in self.s.notifications.values() if n.recipient_id == recipient_id]

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

    def get_for_update(self, notification_id):
        found = self.s.notifications.get(notification_id)
        return copy.copy(found[0]) if found else None

    get = get_for_update

    def save_read(self, n):
        self.s.notifications[n.id] = (copy.copy(n), self.s.notifications[n.id][1])

    def mark_all_read(self, recipient_id, now):
        marked = 0
        for key, (n, src) in list(self.s.notifications.items()):
            if n.recipient_id == recipient_id and not n.read:
                self.s.notifications[key] = (replace(n, read=True, read_time=now), src)
                marked += 1
        return marked

    def newer_than(self, recipient_id, after, limit):
        rows = sorted(self._mine(recipient_id), key=lambda n: (n.create_time, n.id))
        if after is None:
            return rows[-1:]
        return [n for n in rows if (n.create_time, n.id) > after][:limit]


class FakeDeliveries:
    def __init__(self, s: Store) -> None:
        self.s = s

    def add(self, d: Delivery) -> bool:
        key = (d.source_event_id, d.recipient, d.channel)
        if any((x.source_event_id, x.recipient, x.channel) == key for x in self.s.deliveries.values()):
            return False
        self.s.deliveries[d.id] = copy.copy(d)
        return True

    def claim_due(self, channel, now, limit, lease_until):
        due = sorted((d for d in self.s.deliveries.values()
                      if d.channel == channel and d.state == PENDING and d.next_attempt_time <= now),
                     key=lambda d: d.next_attempt_time)[:limit]
        for d in due:
            d.next_attempt_time = lease_until
        return sorted((copy.copy(d) for d in due), key=lambda d: (d.create_time, d.id))

    def save(self, d):
        self.s.deliveries[d.id] = copy.copy(d)

    def sent_times(self, endpoint_key, since):
        return sorted(d.sent_time for d in self.s.deliveries.values()
                      if d.endpoint_key == endpoint_key and d.state == SENT and d.sent_time > since)

    def get_for_update(self, delivery_id):
        d = self.s.deliveries.get(delivery_id)
        return copy.copy(d) if d else None

    def list_dead(self, limit, after, channel):
        rows = sorted((copy.copy(d) for d in self.s.deliveries.values()
                       if d.state == DEAD and (not channel or d.channel == channel)),
                      key=lambda d: (-d.create_time.timestamp(), d.id))
        if after is not None:
            t, i = after
            rows = [d for d in rows if d.create_time < t or (d.create_time == t and d.id > i)]
        return rows[:limit]


class FakePreferences:
    def __init__(self, s: Store) -> None:
        self.s = s

    def get(self, user_id):
        return self.s.preferences.get(user_id)

    def save(self, prefs, now):
        saved = replace(prefs, etag=prefs.etag + 1)
        self.s.preferences[prefs.user_id] = saved
        return saved


class FakeRobots:
    def __init__(self, s: Store) -> None:
        self.s = s

    def add(self, robot):
        self.s.robots[robot.id] = robot

    def list(self, department_id):
        return [r for r in self.s.robots.values() if r.department_id == department_id]

    def get(self, department_id, robot_id):
        r = self.s.robots.get(robot_id)
        return r if r is not None and r.department_id == department_id else None

    def delete(self, department_id, robot_id):
        if self.get(department_id, robot_id) is None:
            return False
        del self.s.robots[robot_id]
        return True


class FakeOrganisation:
    def __init__(self, s: Store) -> None:
        self.s = s

    def apply_user(self, user: OrgUser, email: str, display_name: str) -> None:
        old = self.s.users.get(user.user_id)
        if old is None or old.update_time <= user.update_time:
            self.s.users[user.user_id] = user
            self.s.emails[user.user_id] = email

    def apply_department(self, d: OrgDepartment) -> None:
        old = self.s.departments.get(d.id)
        if old is None or old.update_time <= d.update_time:
            self.s.departments[d.id] = d

    def department_of(self, user_id):
        u = self.s.users.get(user_id)
        return u.department_id if u else None

    def heads_above(self, user_id):
        dept = self.s.departments.get(self.department_of(user_id) or "")
        if dept is None:
            return []
        for dept_id in reversed([p for p in dept.path.strip("/").split("/") if p]):
            d = self.s.departments.get(dept_id)
            head = d.head_id if d else None
            if head and head != user_id and self.s.users.get(head) and self.s.users[head].active:
                return [head]
        return []

    def holders_of(self, role):
        return sorted(u.user_id for u in self.s.users.values() if u.active and role in u.roles)

    def email_of(self, user_id):
        return self.s.emails.get(user_id, "")

    def roles_of(self, user_id):
        u = self.s.users.get(user_id)
        return u.roles if u and u.active else ()

    def manages_department(self, user_id, department_id):
        d = self.s.departments.get(department_id)
        if d is None:
            return False
        ids = [p for p in d.path.strip("/").split("/") if p]
        return any(self.s.departments.get(i) and self.s.departments[i].head_id == user_id for i in ids)


class FakeReminders:
    def __init__(self, s: Store) -> None:
        self.s = s

    def add(self, r: Reminder) -> bool:
        key = (r.notice_type, r.subject, r.recipient_id, r.due_time)
        if any((x.notice_type, x.subject, x.recipient_id, x.due_time) == key for x, _ in self.s.reminders.values()):
            return False
        self.s.reminders[r.id] = (r, "PENDING")
        return True

    def cancel(self, subject, notice_types):
        n = 0
        for key, (r, state) in list(self.s.reminders.items()):
            if r.subject == subject and r.notice_type in notice_types and state == "PENDING":
                self.s.reminders[key] = (r, "CANCELLED")
                n += 1
        return n

    def claim_due(self, now, limit):
        return sorted((r for r, state in self.s.reminders.values() if state == "PENDING" and r.due_time <= now),
                      key=lambda r: r.due_time)[:limit]

    def fired(self, reminder_id):
        self.s.reminders[reminder_id] = (self.s.reminders[reminder_id][0], "FIRED")

    def state(self, subject: str) -> list[tuple[str, str]]:
        return sorted((r.notice_type, s) for r, s in self.s.reminders.values() if r.subject == subject)


class FakeUnitOfWork(NotifyUnitOfWork):
    """Commits by swapping in the working copy; leaving without commit discards it."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()
        self.commits = 0
        self.woken: list[str] = []
        self._pending_wakes: list[str] = []

    def __enter__(self) -> FakeUnitOfWork:
        self._work = copy.deepcopy(self.store)
        self._pending_wakes = []
        self.notifications = FakeNotifications(self._work)
        self.deliveries = FakeDeliveries(self._work)
        self.preferences = FakePreferences(self._work)
        self.robots = FakeRobots(self._work)
        self.organisation = FakeOrganisation(self._work)
        self.reminders = FakeReminders(self._work)
        return self

    def __exit__(self, *exc: object) -> None:
        self._work = None

    def claim(self, delivery: EventDelivery) -> bool:
        key = (delivery.consumer, delivery.event_id)
        if key in self._work.inbox:
            return False
        self._work.inbox.add(key)
        return True

    def commit(self) -> None:
        self.store.__dict__.update(copy.deepcopy(self._work).__dict__)
        self.woken += self._pending_wakes
        self._pending_wakes = []
        self.commits += 1

    def wake(self, recipient_id: str) -> None:
        self._pending_wakes.append(recipient_id)

    # what the tests read after the fact
    def deliveries_of(self, channel: str | None = None) -> list[Delivery]:
        return sorted((d for d in self.store.deliveries.values() if channel is None or d.channel == channel),
                      key=lambda d: (d.create_time, d.recipient))

    def notices_of(self, user_id: str) -> list[Notification]:
        return [n for n, _ in self.store.notifications.values() if n.recipient_id == user_id]


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        from datetime import timedelta

        self.now += timedelta(**delta)
        return self.now


class RecordingSender:
    """A channel that takes everything, or fails the way it is told."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self.failures: list = []

    def send(self, endpoint, message) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((endpoint, message))
