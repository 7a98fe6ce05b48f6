"""In-app notifications and their wording. Plain Python: no database, no protos, no framework."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from notify import templates
from notify.domain.templates import DEFAULT_LOCALE, Catalogue


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
    notice_type: str = ""

    @property
    def name(self) -> str:
        return f"notifications/{self.id}"

    def mark_read(self, now: datetime) -> bool:
        """True when this call changed it; reading it again keeps the first read time."""
        if self.read:
            return False
        self.read, self.read_time = True, now
        return True


_CATALOGUE = Catalogue(templates.load())

# The Chinese (zh-CN) wording of every notice type: type -> (title, body). The data, with zh-TW and
# en, is ``notify/templates/notices.json``.
TEMPLATES: dict[str, tuple[str, str]] = {
    kind: (t["title"], t["body"]) for kind, t in _CATALOGUE.data[DEFAULT_LOCALE]["notices"].items()}


def catalogue() -> Catalogue:
    return _CATALOGUE


def compose(kind: str, facts: dict[str, object], locale: str = DEFAULT_LOCALE) -> tuple[str, str]:
    """The title and body of a notice of ``kind``; derived wording (roles, rules, decisions) added here."""
    w = _CATALOGUE.word(kind, facts, locale)
    return w.title, w.body


def notices(*, ids: list[str], kind: str, recipients: list[str], subject: str, facts: dict[str, object],
            now: datetime) -> list[Notification]:
    """One notice per distinct recipient, in the order given (the first recipient is the primary one)."""
    title, body = compose(kind, facts)
    distinct = list(dict.fromkeys(r for r in recipients if r))
    return [Notification(id=i, recipient_id=r, title=title, body=body, subject=subject, create_time=now,
                         notice_type=kind)
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
