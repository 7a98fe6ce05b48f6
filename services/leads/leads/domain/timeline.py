"""The customer 360 (GetCustomerTimeline): leads' own items (the customer's leads, their follow-ups, their
conversion) merged with the items opportunities and samples list for the same customer, newest first.

Every source lists in the kit's timeline order (``shangji_kit.timeline_token``) after the same cursor, so a page is
the first ``limit`` items of the merge, and the next page starts after its last item in every source alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shangji_kit import timeline_token

SOURCE = "leads"
OPPORTUNITIES = "opportunities"
SAMPLES = "samples"
REMOTE_SOURCES = (OPPORTUNITIES, SAMPLES)

LEAD_CREATED = "lead_created"
FOLLOW_UP = "follow_up"
LEAD_CONVERTED = "lead_converted"

FOLLOW_UP_NAMES = {"CALL": "电话", "VISIT": "拜访", "EMAIL": "邮件", "MEETING": "会议"}


@dataclass(frozen=True)
class TimelineFact:
    """One row of leads' own timeline query: ``subject`` is a follow-up's kind; ``summary`` its note."""

    kind: str
    resource: str
    event_time: datetime
    actor_id: str | None
    lead_id: str
    company: str
    contact_name: str
    subject: str
    summary: str


@dataclass(frozen=True)
class TimelineItem:
    """An item of any source, as the answer carries it (``actor``, ``opportunity`` and ``lead`` as names)."""

    source: str
    kind: str
    resource: str
    title: str
    summary: str
    actor: str
    event_time: datetime
    opportunity: str
    lead: str

    @property
    def key(self) -> str:
        return timeline_token.item_key(self.source, self.kind, self.resource)


@dataclass(frozen=True)
class SourcePage:
    """What one source answered: a page after the cursor, and whether it holds more after it."""

    source: str
    items: list[TimelineItem]
    more: bool


@dataclass(frozen=True)
class Timeline:
    items: list[TimelineItem]
    next_page_token: str
    unavailable_sources: list[str]


def title_of(fact: TimelineFact) -> str:
    who = " ".join(p for p in (fact.company, fact.contact_name) if p)
    if fact.kind == LEAD_CREATED:
        return f"新线索: {who}"
    if fact.kind == FOLLOW_UP:
        return f"跟进({FOLLOW_UP_NAMES.get(fact.subject, fact.subject)}): {who}"
    if fact.kind == LEAD_CONVERTED:
        return f"线索转化: {who}"
    return who


def item_of(fact: TimelineFact) -> TimelineItem:
    return TimelineItem(source=SOURCE, kind=fact.kind, resource=fact.resource, title=title_of(fact),
                        summary=fact.summary, actor=f"users/{fact.actor_id}" if fact.actor_id else "",
                        event_time=fact.event_time, opportunity="", lead=f"leads/{fact.lead_id}")


def merge(pages: list[SourcePage], limit: int, unavailable: list[str]) -> Timeline:
    """The first ``limit`` items of every source's page, newest first, and the token after the last one shown.

    A source's items beyond its page all come after its page's last item, so none of them belongs among the first
    ``limit`` of the merge when each source answered with at least ``limit`` items or all it had."""
    merged = timeline_token.newest_first((i for p in pages for i in p.items), lambda i: i.event_time,
                                         lambda i: i.key)
    shown = merged[:limit]
    more = len(merged) > limit or any(p.more for p in pages)
    return Timeline(shown, timeline_token.next_token(shown, more, lambda i: i.event_time, lambda i: i.key),
                    sorted(unavailable))
