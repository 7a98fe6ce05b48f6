"""One notice on its way to one recipient over one channel: sent once, retried with backoff, or dead.

(source event, recipient, channel) is unique in storage, so an event delivered twice makes one
delivery. A failed attempt waits ``backoff`` (exponential, jittered, per channel); after
``max_attempts`` the delivery is dead with its reason until someone resends it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from notify.domain import channels

PENDING, SENT, DEAD = "PENDING", "SENT", "DEAD"

# Messages a robot accepts per minute (WeCom and DingTalk document 20, Feishu 100); beyond that it
# refuses them, so deliveries wait their turn instead.
RATE_LIMITS = {channels.WECOM: 20, channels.DINGTALK: 20, channels.FEISHU: 100}
RATE_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 10.0
    max_seconds: float = 3600.0

    def backoff(self, attempt: int, rand: random.Random | None = None) -> timedelta:
        """Delay after the ``attempt``-th failure: base * 2^(attempt-1), capped, jittered into its upper half."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        return timedelta(seconds=(rand or random).uniform(ceiling / 2, ceiling))


@dataclass
class Delivery:
    id: str
    source_event_id: str
    recipient: str
    channel: str
    notice_type: str
    subject: str
    facts: dict[str, object]
    locale: str
    next_attempt_time: datetime
    create_time: datetime
    digest: bool = False
    state: str = PENDING
    attempts: int = 0
    last_error: str = ""
    sent_time: datetime | None = None
    endpoint_key: str = ""
    changed: set[str] = field(default_factory=set, repr=False)

    @property
    def name(self) -> str:
        return f"deliveries/{self.id}"

    def sent(self, now: datetime, endpoint_key: str) -> None:
        self.state, self.sent_time, self.attempts, self.last_error = SENT, now, self.attempts + 1, ""
        self.endpoint_key = endpoint_key

    def failed(self, now: datetime, reason: str, policy: RetryPolicy, retry_after: float | None = None) -> None:
        """Count the attempt; wait the backoff (or what the server asked), or die after the last attempt."""
        self.attempts += 1
        self.last_error = reason[:1000]
        if self.attempts >= policy.max_attempts:
            self.state = DEAD
            return
        wait = policy.backoff(self.attempts)
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        self.next_attempt_time = now + wait

    def undeliverable(self, reason: str) -> None:
        """No retry can help (no address, no robot): dead at once, resendable after the set-up is fixed."""
        self.attempts += 1
        self.state, self.last_error = DEAD, reason

    def postpone(self, until: datetime) -> None:
        """Not an attempt: the robot's rate limit is full until ``until``."""
        self.next_attempt_time = until

    def resend(self, now: datetime) -> bool:
        """A dead delivery starts over; False (nothing changes) for one that is not dead."""
        if self.state != DEAD:
            return False
        self.state, self.attempts, self.next_attempt_time, self.last_error = PENDING, 0, now, ""
        return True


def endpoint_key(endpoint: channels.Endpoint) -> str:
    """Identifies a robot (its URL carries its key) for its rate limit, without storing the URL twice."""
    return hashlib.sha256(f"{endpoint.channel}|{endpoint.address}".encode()).hexdigest()[:32]


def rate_limited_until(channel: str, sent_in_window: list[datetime], now: datetime) -> datetime | None:
    """When the robot may take another message, or None when it may now. ``sent_in_window``: send times of the
    last minute, oldest first."""
    limit = RATE_LIMITS.get(channel)
    if limit is None or len(sent_in_window) < limit:
        return None
    return sent_in_window[-limit] + RATE_WINDOW
