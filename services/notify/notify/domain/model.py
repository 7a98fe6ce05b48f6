"""In-app notifications. Plain Python: no database, no protos, no framework."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Notification:
    id: str
    recipient_id: str
    title: str
    body: str
    subject: str
    create_time: datetime
    read: bool = False
    read_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"notifications/{self.id}"

    def mark_read(self, now: datetime) -> bool:
        """True when this call changed it; reading it again keeps the first read time."""
        if self.read:
            return False
        self.read, self.read_time = True, now
        return True


def opportunity_registered(*, id: str, recipient_id: str, opportunity: str, title: str, customer_company: str,
                           stage_display_name: str, registrant: str, now: datetime) -> Notification:
    """Tells an owner that a deal was registered for them; ``opportunity`` is its resource name."""
    body = f"客户“{customer_company}”的商机已由 {registrant} 登记，当前阶段：{stage_display_name}。"
    return Notification(id=id, recipient_id=recipient_id, title=f"新商机已登记：{title}", body=body,
                        subject=opportunity, create_time=now)


TEAM_ROLES = {
    "account_manager": "客户经理",
    "solution_manager": "解决方案经理",
    "delivery_manager": "交付经理",
    "presales": "售前",
    "service": "服务",
}


def team_member_added(*, id: str, recipient_id: str, opportunity: str, role: str, added_by: str,
                      now: datetime) -> Notification:
    """Tells a person they were put on a deal's team; ``opportunity`` is its resource name (the subject).

    A role teams adds later and this map does not know yet is shown as teams names it.
    """
    as_role = f"，担任{TEAM_ROLES.get(role, role)}" if role else ""
    body = f"{added_by} 已将你加入商机团队{as_role}。"
    return Notification(id=id, recipient_id=recipient_id, title="你已加入商机团队", body=body, subject=opportunity,
                        create_time=now)
