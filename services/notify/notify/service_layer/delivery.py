"""The delivery workflow: each external channel's worker sends what is due, retries with backoff, and
parks what keeps failing as dead; an operator lists the dead and resends them.

A round is two short transactions around the sends, never one held open across a slow server:
1. claim due rows (``FOR UPDATE SKIP LOCKED``) and lease them (their next attempt moves past the
   send), find each one's endpoint, and hold back what a robot's rate limit does not allow yet;
2. after the sends, record each outcome: sent, retry later, or dead.
A worker that dies between the two leaves its rows leased; they are due again when the lease ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from notify.domain import channels
from notify.domain import delivery as rules_of_delivery
from notify.domain.channels import DeliveryFailed, Endpoint, Message, Sender
from notify.domain.delivery import Delivery
from notify.domain.preferences import Preferences
from notify.domain.templates import link_to
from notify.service_layer.context import Rules
from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit import paging
from shangji_kit.caller import user_id
from shangji_kit.errors import NotFound, PermissionDenied

LEASE = timedelta(minutes=2)
OPERATOR_ROLES = frozenset({"sales_ops", "admin"})


@dataclass
class _Send:
    endpoint: Endpoint
    message: Message
    deliveries: list[Delivery]


def deliver_due(channel: str, sender: Sender, uow: NotifyUnitOfWork, rules: Rules,
                clock: Callable[[], datetime]) -> int:
    """One round for ``channel``: how many deliveries it tried (0: nothing was due)."""
    now = clock()
    with uow:
        claimed = uow.deliveries.claim_due(channel, now, rules.batch, now + LEASE)
        for recipient in dict.fromkeys(d.recipient for d in claimed if d.digest):
            claimed += uow.deliveries.claim_digest(channel, recipient, now, now + LEASE)
        sends = _prepare(claimed, uow, rules, now)
        uow.commit()
    if not claimed:
        return 0
    outcomes: list[tuple[_Send, DeliveryFailed | None]] = []
    for send in sends:
        try:
            sender.send(send.endpoint, send.message)
            outcomes.append((send, None))
        except DeliveryFailed as failure:
            outcomes.append((send, failure))
        except Exception as exc:  # an adapter's own bug still counts as an attempt, so it ends dead, not looping
            outcomes.append((send, DeliveryFailed(f"{type(exc).__name__}: {exc}"[:500])))
    done = clock()
    with uow:
        recorded = []
        for send, failure in outcomes:
            key = rules_of_delivery.endpoint_key(send.endpoint)
            for d in send.deliveries:
                if failure is None:
                    d.sent(done, key)
                else:
                    d.failed(done, failure.reason, rules.retry, failure.retry_after)
                recorded.append(d)
        uow.deliveries.save_all(recorded)
        uow.commit()
    return len(claimed)


def _prepare(claimed: list[Delivery], uow: NotifyUnitOfWork, rules: Rules, now: datetime) -> list[_Send]:
    """Endpoints found, rate limits applied, digests grouped: what to send this round."""
    sends: dict[tuple, _Send] = {}
    window: dict[str, list[datetime]] = {}
    endpoints: dict[tuple[str, str], Endpoint | None] = {}
    for d in claimed:
        if (d.recipient, d.channel) not in endpoints:  # a batch often holds several rows for one recipient
            endpoints[d.recipient, d.channel] = _endpoint(d, uow)
        endpoint = endpoints[d.recipient, d.channel]
        if endpoint is None:
            d.undeliverable(f"no {d.channel} endpoint for {d.recipient}")
            uow.deliveries.save(d)
            continue
        key = rules_of_delivery.endpoint_key(endpoint)
        group = (d.recipient, key, "digest") if d.digest else (d.id,)
        if group not in sends:
            if key not in window:
                window[key] = uow.deliveries.sent_times(key, now - rules_of_delivery.RATE_WINDOW)
            until = rules_of_delivery.rate_limited_until(d.channel, window[key], now)
            if until is not None:
                d.postpone(until)  # queued behind the robot's limit, not dropped and not an attempt
                uow.deliveries.save(d)
                continue
            window[key].append(now)
            sends[group] = _Send(endpoint, Message("", "", "", ""), [])
        sends[group].deliveries.append(d)
    for send in sends.values():
        messages = [rules.catalogue.render(d.notice_type, d.facts, d.locale, link=link_to(rules.link_base, d.subject),
                                           subject=d.subject) for d in send.deliveries]
        first = send.deliveries[0]
        send.message = rules.catalogue.digest(messages, first.locale) if first.digest else messages[0]
    return list(sends.values())


def _endpoint(d: Delivery, uow: NotifyUnitOfWork) -> Endpoint | None:
    parts = d.recipient.split("/")
    if parts[0] == "departments" and len(parts) == 4:
        robot = uow.robots.get(parts[1], parts[3])
        return robot.robot.endpoint() if robot is not None else None
    recipient = parts[1]
    prefs = uow.preferences.get(recipient) or Preferences(recipient)
    if d.channel == channels.EMAIL:
        address = prefs.email or uow.org.email_of(recipient)
        return Endpoint(channels.EMAIL, address) if address else None
    robot = prefs.robot(d.channel)
    return robot.endpoint() if robot is not None else None


def _operator(uow: NotifyUnitOfWork, caller_id: str | None) -> None:
    """sales_ops and admin see and resend dead deliveries; ``None`` is the operator's CLI."""
    if caller_id is None:
        return
    me = user_id(caller_id)
    if not set(uow.org.roles_of(me)) & OPERATOR_ROLES:
        raise PermissionDenied("only sales_ops or admin may see and resend dead deliveries",
                               reason="NOT_OPERATOR")


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[Delivery]
    next_page_token: str


def list_dead(caller_id: str | None, page_size: int, page_token: str, channel: str | None,
              uow: NotifyUnitOfWork) -> DeliveryPage:
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    with uow:
        _operator(uow, caller_id)
        rows = uow.deliveries.list_dead(limit + 1, after, channel)
    page = rows[:limit]
    token = paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""
    return DeliveryPage(page, token)


def resend(caller_id: str | None, delivery_id: str, uow: NotifyUnitOfWork, now: datetime) -> Delivery:
    """A dead delivery is due again with its attempts reset; any other is returned unchanged."""
    with uow:
        _operator(uow, caller_id)
        d = uow.deliveries.get_for_update(delivery_id)
        if d is None:
            raise NotFound(f"deliveries/{delivery_id}")
        if d.resend(now):
            uow.deliveries.save(d)
            uow.commit()
        return d
