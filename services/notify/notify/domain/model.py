"""In-app notifications and the templates that word them. Plain Python: no database, no protos, no framework."""

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


TEAM_ROLES = {
    "account_manager": "客户经理",
    "solution_manager": "解决方案经理",
    "delivery_manager": "交付经理",
    "presales": "售前",
    "service": "服务",
}

RECYCLE_RULES = {"NO_FOLLOW_UP": "长期未跟进", "UNCONVERTED": "认领后未按期转化"}

# kind -> (title, body). Each is a str.format template over the facts the event gives (see
# adapters/protomap.py); a template that names a fact the event lacks is a bug the unit tests catch.
TEMPLATES: dict[str, tuple[str, str]] = {
    "opportunity_registered": (
        "新商机已登记：{title}",
        "客户“{customer_company}”的商机已由 {registrant} 登记，当前阶段：{stage_display_name}。"),
    "team_member_added": ("你已加入商机团队", "{added_by} 已将你加入商机团队{as_role}。"),
    "close_date_approaching": (
        "商机即将到期：{title}",
        "商机“{title}”的预计成交日期为 {expected_close_date}，还剩 {days_left} 天。"),
    "close_date_passed": (
        "商机已过预计成交日期：{title}",
        "商机“{title}”的预计成交日期 {expected_close_date} 已过 {days_overdue} 天，请更新日期或推进商机。"),
    "stalled": (
        "商机停滞：{title}",
        "商机“{title}”已在“{stage_display_name}”阶段停留 {days_in_stage} 天，超过上限 {max_days} 天。"),
    "big_deal": (
        "大额商机：{title}",
        "商机“{title}”（客户“{customer_company}”）金额 {amount} {currency}，超过大单阈值 {threshold}。"),
    "registration_queued": (
        "报备撞单，等待仲裁：{title}",
        "客户“{customer_company}”已由 {holder} 报备在先，你的报备已提交经理仲裁。"),
    "registration_arbitrated": ("报备仲裁结果：{title}", "{arbiter} 对你的报备作出裁决：{decision_text}。{note}"),
    "lead_assigned": ("新线索分配给你：{company}", "线索“{company}”（联系人 {contact_name}）已分配给你，请及时跟进。"),
    "lead_recycle_warning": (
        "线索即将收回公海：{company}",
        "线索“{company}”因{rule_text}，将于 {recycle_time} 收回公海，请尽快跟进。"),
    "lead_recycled": ("线索已收回公海：{company}", "线索“{company}”因{rule_text}已收回公海。"),
    "sample_approval_requested": (
        "样品申请待你审批",
        "{requester} 为客户“{customer_company}”申请样品 {total_quantity} 件"
        "（估算成本 {estimated_cost} {currency}），等待你以“{tier}”审批。"),
    "sample_approved": ("样品申请已批准", "你为客户“{customer_company}”的样品申请已全部审批通过，ERP 订单创建中。"),
    "sample_rejected": ("样品申请被驳回", "{approver} 驳回了你为客户“{customer_company}”的样品申请：{comment}"),
    "task_assigned": (
        "新任务：{task_title}", "商机“{opportunity_title}”的任务“{task_title}”已分配给你，截止日期 {due_date}。"),
    "sample_feedback_assigned": ("试用问题分配给你", "客户“{customer_company}”试用样品时反馈：{summary}"),
}


def compose(kind: str, facts: dict[str, object]) -> tuple[str, str]:
    """The title and body of a notice of ``kind``; derived wording (roles, rules, decisions) added here."""
    facts = dict(facts)
    if kind == "team_member_added":
        # A role teams adds later and the map does not know yet is shown as teams names it.
        role = str(facts.get("role", ""))
        facts["as_role"] = f"，担任{TEAM_ROLES.get(role, role)}" if role else ""
    if kind in ("lead_recycle_warning", "lead_recycled"):
        rule = str(facts.get("rule", ""))
        facts["rule_text"] = RECYCLE_RULES.get(rule, rule)
    if kind == "registration_arbitrated":
        facts["decision_text"] = "通过" if facts.get("decision") == "APPROVE" else "驳回"
    title, body = TEMPLATES[kind]
    return title.format(**facts), body.format(**facts).strip()


def notices(*, ids: list[str], kind: str, recipients: list[str], subject: str, facts: dict[str, object],
            now: datetime) -> list[Notification]:
    """One notice per distinct recipient, in the order given (the first recipient is the primary one)."""
    title, body = compose(kind, facts)
    distinct = list(dict.fromkeys(r for r in recipients if r))
    return [Notification(id=i, recipient_id=r, title=title, body=body, subject=subject, create_time=now)
            for i, r in zip(ids, distinct, strict=False)]


def opportunity_registered(*, id: str, recipient_id: str, opportunity: str, title: str, customer_company: str,
                           stage_display_name: str, registrant: str, now: datetime) -> Notification:
    """Tells an owner that a deal was registered for them; ``opportunity`` is its resource name."""
    facts = {"title": title, "customer_company": customer_company, "stage_display_name": stage_display_name,
             "registrant": registrant}
    return notices(ids=[id], kind="opportunity_registered", recipients=[recipient_id], subject=opportunity,
                   facts=facts, now=now)[0]


def team_member_added(*, id: str, recipient_id: str, opportunity: str, role: str, added_by: str,
                      now: datetime) -> Notification:
    """Tells a person they were put on a deal's team; ``opportunity`` is its resource name (the subject)."""
    return notices(ids=[id], kind="team_member_added", recipients=[recipient_id], subject=opportunity,
                   facts={"role": role, "added_by": added_by}, now=now)[0]
