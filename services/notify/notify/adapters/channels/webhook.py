"""Generic webhook for other systems: the notice as JSON, signed with HMAC-SHA256 over the exact body.

Header ``X-Shangji-Signature: sha256=<hex>``; the body carries ``sent_time`` so a receiver can refuse
replays. Any 2xx is success.
"""

from __future__ import annotations

import hashlib
import hmac

from notify.adapters.channels.http import dumps, post_json
from notify.domain.channels import Endpoint, Message

SIGNATURE_HEADER = "X-Shangji-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(message: Message, sent_time: str) -> bytes:
    return dumps({"notice_type": message.notice_type, "subject": message.subject, "title": message.title,
                  "text": message.text, "link": message.link, "sent_time": sent_time})


class GenericWebhook:
    def __init__(self, clock_iso) -> None:
        self.clock_iso = clock_iso

    def send(self, endpoint: Endpoint, message: Message) -> None:
        body = body_of(message, self.clock_iso())
        post_json(endpoint.address, body, {SIGNATURE_HEADER: signature(endpoint.secret, body)})
