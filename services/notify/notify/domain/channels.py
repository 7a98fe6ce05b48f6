"""Channels a notice travels by, the rendered message every channel sends, and the port a channel implements.

A channel adapter (``adapters/channels``) turns a ``Message`` into one call to its server and raises
``DeliveryFailed`` when the server did not take it; the delivery workflow decides on retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

IN_APP, EMAIL, WECOM, DINGTALK, FEISHU, WEBHOOK = "IN_APP", "EMAIL", "WECOM", "DINGTALK", "FEISHU", "WEBHOOK"
ROBOTS = (WECOM, DINGTALK, FEISHU, WEBHOOK)
# Channels delivered by a worker of their own (the in-app inbox is written with the event).
EXTERNAL = (EMAIL, *ROBOTS)
ALL = (IN_APP, *EXTERNAL)
# Robots whose server refuses an unsigned message once a secret is set; the generic webhook always signs.
SIGNED = (DINGTALK, FEISHU, WEBHOOK)


@dataclass(frozen=True)
class Message:
    """One notice (or one digest of several) as every channel can show it."""

    title: str
    text: str
    markdown: str
    html: str
    link: str = ""
    notice_type: str = ""
    subject: str = ""


@dataclass(frozen=True)
class Endpoint:
    """Where a delivery goes: an email address, or a robot's URL with its secret and keywords."""

    channel: str
    address: str
    secret: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)


class DeliveryFailed(Exception):
    """The channel's server did not take the message. ``retry_after`` (seconds) when it said to wait."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Sender(Protocol):
    """A channel adapter: delivers ``message`` to ``endpoint`` or raises DeliveryFailed."""

    def send(self, endpoint: Endpoint, message: Message) -> None: ...
