"""The notices workflow: what one event (or one due reminder) makes: an in-app notice per recipient,
the deliveries their preferences ask for, the department robots' copies, and reminders to come.

Everything one event causes commits with its inbox claim, so a redelivered event makes nothing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from notify.domain import model
from notify.domain.delivery import Delivery
from notify.domain.preferences import Preferences
from notify.domain.reminders import Reminder
from notify.service_layer.context import Rules
from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit.inbox import Delivery as EventDelivery
from shangji_kit.inbox import idempotent


@dataclass(frozen=True)
class NoticeRequest:
    """What one event asks notify to say: a notice type, who hears it (user ids, primary first), the
    resource it is about, and the facts the template words.

    ``managers_of``: also the managers of these users (their department's head, or the next head up for
    a head), resolved from the organisation projection; ``role_holders``: also every active holder of
    these roles, or only when nobody else was found (``roles_as_fallback``).
    """

    kind: str
    recipients: list[str]
    subject: str
    facts: dict[str, object] = field(default_factory=dict)
    managers_of: tuple[str, ...] = ()
    role_holders: tuple[str, ...] = ()
    roles_as_fallback: bool = False


@dataclass(frozen=True)
class ReminderMove:
    """A deal changed hands at ``at``: the pending reminders one user had about it (its follow-ups, its stalled
    escalation, its tasks') are another's now: ``to_id``'s, unless the deal has since gone on to someone else."""

    deal: str
    from_id: str
    to_id: str
    at: datetime


@dataclass(frozen=True)
class EventEffects:
    """Everything one event causes: notices now, reminders later, reminders it stops (by subject and type),
    reminders that change recipient."""

    notices: list[NoticeRequest] = field(default_factory=list)
    reminders: list[Reminder] = field(default_factory=list)
    stops: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    moves: list[ReminderMove] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.notices or self.reminders or self.stops or self.moves)


@idempotent(skipped=[])
def handle_event(uow: NotifyUnitOfWork, effects: EventEffects, source_id: str, rules: Rules,
                 now: datetime) -> list[model.Notification]:
    """Apply one event's effects, called ``handle_event(delivery, uow, effects, source_id, rules, now)``:
    once per (consumer, event); a redelivery returns [] and changes nothing."""
    created: list[model.Notification] = []
    for request in effects.notices:
        created += store_notices(uow, request, source_id, rules, now)
    for subject, kinds in effects.stops:
        uow.reminders.cancel(subject, kinds)
    for move in effects.moves:
        # Reassignments may arrive out of order (A->B after B->C): the reminders go to the deal's latest owner.
        uow.reminders.move(move.deal, move.from_id, uow.deal_owners.record(move.deal, move.to_id, move.at))
    uow.reminders.add_all(effects.reminders)
    return created


def notify(request: NoticeRequest, event: EventDelivery, uow: NotifyUnitOfWork, rules: Rules,
           now: datetime) -> list[model.Notification]:
    """One event's notices (the common case of ``handle_event``)."""
    return handle_event(event, uow, EventEffects(notices=[request]), event.event_id, rules, now)


def recipients_of(uow: NotifyUnitOfWork, request: NoticeRequest) -> list[str]:
    found = [r for r in request.recipients if r]
    for user in request.managers_of:
        found += uow.org.heads_above(user)
    if request.role_holders and (not request.roles_as_fallback or not found):
        for role in request.role_holders:
            found += uow.org.holders_of(role)
    return list(dict.fromkeys(found))


def store_notices(uow: NotifyUnitOfWork, request: NoticeRequest, source_id: str, rules: Rules,
                  now: datetime) -> list[model.Notification]:
    """Inside an open unit of work: the notices, deliveries and robot copies of one request."""
    created = []
    recipients = recipients_of(uow, request)
    for recipient in recipients:
        prefs = uow.preferences.get(recipient) or Preferences(recipient)
        wording = rules.catalogue.word(request.kind, request.facts, prefs.locale)
        notice = model.Notification(id=str(uuid.uuid4()), recipient_id=recipient, title=wording.title,
                                    body=wording.body, subject=request.subject, create_time=now,
                                    notice_type=request.kind)
        if not uow.notifications.add(notice, source_id):
            continue  # this source already told this person
        created.append(notice)
        uow.wake(recipient)
        for plan in prefs.plans(request.kind, now, rules.tz):
            uow.deliveries.add(_delivery(source_id, f"users/{recipient}", plan.channel, request, prefs.locale,
                                         plan.due, plan.digest, now))
    if recipients:
        _team_copies(uow, request, source_id, recipients[0], now)
    return created


def _team_copies(uow: NotifyUnitOfWork, request: NoticeRequest, source_id: str, primary: str,
                 now: datetime) -> None:
    """The primary recipient's department robots that take this notice type get a copy (in Chinese)."""
    for robot in uow.robots.of_members_department(primary):
        if request.kind in robot.notice_types:
            uow.deliveries.add(_delivery(source_id, robot.name, robot.robot.channel, request, "zh-CN", now, False,
                                         now))


def _delivery(source_id: str, recipient: str, channel: str, request: NoticeRequest, locale: str, due: datetime,
              digest: bool, now: datetime) -> Delivery:
    return Delivery(id=str(uuid.uuid4()), source_event_id=source_id, recipient=recipient, channel=channel,
                    notice_type=request.kind, subject=request.subject, facts=_plain(request.facts), locale=locale,
                    next_attempt_time=due, create_time=now, digest=digest)


def _plain(facts: dict[str, object]) -> dict[str, object]:
    """Facts as JSON can hold them (kept for the template at send time)."""
    return {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in facts.items()}
