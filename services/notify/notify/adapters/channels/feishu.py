"""Feishu / Lark (飞书) custom robot: a rich-text post, signed.

sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")), sent in the body with the
timestamp in seconds. The robot answers ``code`` 0, 19021 for a bad signature, 11232 when over its
limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from notify.adapters.channels.http import dumps, post_json
from notify.domain.channels import DeliveryFailed, Endpoint, Message

RATE_LIMITED = 11232


def sign(timestamp: int, secret: str) -> str:
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def payload(message: Message, secret: str, timestamp: int) -> dict:
    lines = [[{"tag": "text", "text": line}] for line in message.text.splitlines() if line.strip()]
    if message.link:
        lines.append([{"tag": "a", "text": message.link, "href": message.link}])
    body: dict = {"msg_type": "post",
                  "content": {"post": {"zh_cn": {"title": message.title, "content": lines}}}}
    if secret:
        body = {"timestamp": str(timestamp), "sign": sign(timestamp, secret), **body}
    return body


class FeishuRobot:
    def __init__(self, clock_s) -> None:
        self.clock_s = clock_s

    def send(self, endpoint: Endpoint, message: Message) -> None:
        answer = post_json(endpoint.address, dumps(payload(message, endpoint.secret, self.clock_s())))
        code = answer.get("code", answer.get("StatusCode", 0))
        if code == RATE_LIMITED:
            raise DeliveryFailed(f"Feishu rate limited: {answer.get('msg', '')}", retry_after=60)
        if code:
            raise DeliveryFailed(f"Feishu code {code}: {answer.get('msg', '')}")
