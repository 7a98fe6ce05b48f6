"""Leads' part of a customer's timeline in one SQL statement: the customer's leads the viewer may see, each one's
creation, follow-ups and conversion, as one union read newest first from after the page token's (time, key), built
once per viewer shape."""

from __future__ import annotations

import sqlalchemy as sa

from leads.adapters.lead_repository import LEAD_RULE
from leads.adapters.orm import follow_ups, leads
from leads.domain import timeline
from leads.domain.timeline import TimelineFact
from shangji_kit import timeline_sql, timeline_token, visibility

_TEXT = sa.Text


def _statement(visible: sa.ColumnElement[bool], after: bool) -> sa.Select:
    lt = (sa.select(leads.c.id, leads.c.company, leads.c.contact_name, leads.c.owner_id, leads.c.create_time,
                    leads.c.convert_time)
          .where(leads.c.customer_id == sa.bindparam("customer_id", type_=leads.c.customer_id.type), visible)
          .cte("customer_leads"))
    name = sa.func.concat("leads/", lt.c.id)
    empty = sa.literal("", _TEXT)

    def part(kind: str, resource, time, actor, subject, summary, source=lt) -> sa.Select:
        return sa.select(sa.literal(kind, _TEXT).label("kind"), resource.label("resource"),
                         time.label("event_time"), sa.cast(actor, _TEXT).label("actor_id"),
                         sa.cast(lt.c.id, _TEXT).label("lead_id"), lt.c.company, lt.c.contact_name,
                         subject.label("subject"), summary.label("summary")).select_from(source)

    # No one is recorded as a lead's creator (a form, an import, a rep): its creation has no actor.
    created = part(timeline.LEAD_CREATED, name, lt.c.create_time, sa.null(), empty, empty)
    f = follow_ups
    followed = part(timeline.FOLLOW_UP, sa.func.concat("leads/", lt.c.id, "/followUps/", f.c.id), f.c.create_time,
                    f.c.author_id, f.c.kind, f.c.note, source=lt.join(f, f.c.lead_id == lt.c.id))
    # Only the holder converts a lead and a handover moves open leads only, so a converted lead's owner converted it.
    converted = part(timeline.LEAD_CONVERTED, name, lt.c.convert_time, lt.c.owner_id, empty, empty
                     ).where(lt.c.convert_time.is_not(None))

    items = sa.union_all(created, followed, converted).subquery("items")
    return timeline_sql.page_statement(items, timeline.SOURCE, after)


_STATEMENTS = {after: LEAD_RULE.per_shape(lambda visible, after=after: _statement(visible, after))
               for after in (False, True)}


class TimelineQuery:
    """Reads leads' part of a customer's timeline."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def page(self, customer_id: str, viewer: visibility.Viewer, after: timeline_token.Cursor | None, limit: int
             ) -> list[TimelineFact]:
        """Up to ``limit`` facts after ``after``, in timeline order, from the customer's leads ``viewer`` may see."""
        params = {"customer_id": customer_id, "limit": limit, **LEAD_RULE.params(viewer),
                  **timeline_sql.after_params(after)}
        rows = self.session.execute(_STATEMENTS[after is not None][visibility.shape_of(viewer)], params)
        return [TimelineFact(kind=r.kind, resource=r.resource, event_time=r.event_time, actor_id=r.actor_id,
                             lead_id=r.lead_id, company=r.company, contact_name=r.contact_name,
                             subject=r.subject or "", summary=r.summary or "") for r in rows]
