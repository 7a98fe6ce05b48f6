"""The customer 360 (GetCustomerTimeline): leads' own items (the customer's leads, their follow-ups, their
conversion) merged with the items opportunities and samples list for the same customer, newest first.

Every source lists in the kit's timeline order (``shangji_kit.timeline_token``) after the same cursor, so a page is
the first ``limit`` items of the merge, and the next page starts after its last item in every source alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shangji_kit import timeline_token
from shangji_kit.timeline_token import Item, contact_kind_name

SOURCE = "leads"
OPPORTUNITIES = "opportunities"
SAMPLES = "samples"
REMOTE_SOURCES = (OPPORTUNITIES, SAMPLES)

LEAD_CREATED = "lead_created"
FOLLOW_UP = "follow_up"
LEAD_CONVERTED = "lead_converted"


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
class SourcePage:
    """What one source answered: a page after the cursor, and whether it holds more after it."""

    source: str
    items: list[Item]
    more: bool


@dataclass(frozen=True)
class Timeline:
    items: list[Item]
    next_page_token: str
    unavailable_sources: list[str]


def title_of(fact: TimelineFact) -> str:
    who = " ".join(p for p in (fact.company, fact.contact_name) if p)
    if fact.kind == LEAD_CREATED:
        return f"新线索: {who}"
    if fact.kind == FOLLOW_UP:
        return f"跟进({contact_kind_name(fact.subject)}): {who}"
    if fact.kind == LEAD_CONVERTED:
        return f"线索转化: {who}"
    return who


def item_of(fact: TimelineFact) -> Item:
    return Item(source=SOURCE, kind=fact.kind, resource=fact.resource, title=title_of(fact), summary=fact.summary,
                actor=f"users/{fact.actor_id}" if fact.actor_id else "", event_time=fact.event_time,
                lead=f"leads/{fact.lead_id}")


def merge(pages: list[SourcePage], limit: int, unavailable: list[str]) -> Timeline:
    """The first ``limit`` items of every source's page, newest first, and the token after the last one shown.

    A source's items beyond its page all come after its page's last item, so none of them belongs among the first
    ``limit`` of the merge when each source answered with at least ``limit`` items or all it had."""
    merged = timeline_token.newest_first(i for p in pages for i in p.items)
    shown = merged[:limit]
    more = len(merged) > limit or any(p.more for p in pages)
    return Timeline(shown, timeline_token.next_token(shown, more), sorted(unavailable))
