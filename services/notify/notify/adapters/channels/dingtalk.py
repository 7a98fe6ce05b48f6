"""DingTalk (钉钉) custom robot: markdown, signed with a timestamp and the robot's secret.

sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}"))), added to the URL
with the timestamp. A robot with keywords drops a message containing none of them (errcode 310000),
so the first keyword is added to the title when the message has none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

from notify.adapters.channels.http import dumps, post_json
from notify.domain.channels import DeliveryFailed, Endpoint, Message

RATE_LIMITED = 130101


def sign(timestamp_ms: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    if not secret:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign(timestamp_ms, secret)}"


def payload(message: Message, keywords: tuple[str, ...]) -> dict:
    title = message.title
    if keywords and not any(k in message.title + message.markdown for k in keywords):
        title = f"[{keywords[0]}] {title}"
    text = message.markdown if title == message.title else f"### {title}\n\n{message.markdown}"
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


class DingTalkRobot:
    def __init__(self, clock_ms) -> None:
        self.clock_ms = clock_ms

    def send(self, endpoint: Endpoint, message: Message) -> None:
        url = signed_url(endpoint.address, endpoint.secret, self.clock_ms())
        answer = post_json(url, dumps(payload(message, endpoint.keywords)))
        code = answer.get("errcode", 0)
        if code == RATE_LIMITED:
            raise DeliveryFailed(f"DingTalk rate limited: {answer.get('errmsg', '')}", retry_after=60)
        if code:
            raise DeliveryFailed(f"DingTalk errcode {code}: {answer.get('errmsg', '')}")
