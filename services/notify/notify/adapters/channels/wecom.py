"""WeCom (企业微信) group robot: markdown messages to the robot's webhook URL (which carries its key).

The robot answers HTTP 200 with ``errcode``; 45009 means over its limit (20 messages a minute).
"""

from __future__ import annotations

from notify.adapters.channels.http import dumps, post_json
from notify.domain.channels import DeliveryFailed, Endpoint, Message

RATE_LIMITED = 45009
MAX_BYTES = 4096


def payload(message: Message) -> dict:
    content = message.markdown
    # WeCom refuses markdown over 4096 bytes; cut on a character boundary.
    content = content.encode()[:MAX_BYTES].decode(errors="ignore")
    return {"msgtype": "markdown", "markdown": {"content": content}}


class WeComRobot:
    def send(self, endpoint: Endpoint, message: Message) -> None:
        answer = post_json(endpoint.address, dumps(payload(message)))
        code = answer.get("errcode", 0)
        if code == RATE_LIMITED:
            raise DeliveryFailed(f"WeCom rate limited: {answer.get('errmsg', '')}", retry_after=60)
        if code:
            raise DeliveryFailed(f"WeCom errcode {code}: {answer.get('errmsg', '')}")
