"""A customer's deal timeline in one SQL statement: the deals the viewer may open, their registration, moves
between stages (won, lost, reopened), activities, tasks made and done and the ERP order, as one union read newest
first from after the page token's (time, key), built once per viewer shape."""

from __future__ import annotations

import sqlalchemy as sa

from opportunities.adapters.deal_rows import RULE
from opportunities.adapters.orm import activities, opportunities, pipeline_stages, stage_history, tasks
from opportunities.domain import timeline
from opportunities.domain.timeline import TimelineFact
from shangji_kit import timeline_sql, timeline_token, visibility

_TEXT = sa.Text


def _name(*parts) -> sa.ColumnElement:
    return sa.func.concat(*parts)


def _statement(visible: sa.ColumnElement[bool], after: bool) -> sa.Select:
    o = opportunities
    deals = (sa.select(o.c.id, o.c.title, o.c.lead_id, o.c.pipeline_id, o.c.pipeline_version, o.c.registrant_id,
                       o.c.create_time, o.c.erp_order_number, o.c.erp_order_time)
             .where(o.c.customer_id == sa.bindparam("customer_id", type_=o.c.customer_id.type), visible)
             .cte("deals"))

    def part(kind, resource, time, actor, subject, detail, summary, source=deals) -> sa.Select:
        return sa.select(
            (kind if isinstance(kind, sa.ColumnElement) else sa.literal(kind, _TEXT)).label("kind"),
            resource.label("resource"), time.label("event_time"), sa.cast(actor, _TEXT).label("actor_id"),
            sa.cast(deals.c.id, _TEXT).label("opportunity_id"),
            sa.cast(deals.c.lead_id, _TEXT).label("lead_id"), deals.c.title.label("deal_title"),
            subject.label("subject"), detail.label("detail"), summary.label("summary")).select_from(source)

    deal_name = _name("opportunities/", deals.c.id)
    empty = sa.literal("", _TEXT)
    registered = part(timeline.REGISTERED, deal_name, deals.c.create_time, deals.c.registrant_id, empty, empty, empty)

    # Each stay after the first is a move; the previous stay (lag) is where it came from.
    sh = stage_history
    stays = (sa.select(sh.c.opportunity_id, sh.c.stage_key, sh.c.enter_time, sh.c.actor_id, sh.c.reason,
                       sa.func.lag(sh.c.stage_key).over(partition_by=sh.c.opportunity_id, order_by=sh.c.id)
                       .label("from_key"))
             .where(sh.c.opportunity_id.in_(sa.select(deals.c.id))).subquery("stays"))
    to_stage, from_stage = pipeline_stages.alias("to_stage"), pipeline_stages.alias("from_stage")

    def stage_of(alias, key) -> sa.ColumnElement[bool]:
        return sa.and_(alias.c.pipeline_id == deals.c.pipeline_id, alias.c.version == deals.c.pipeline_version,
                       alias.c.key == key)

    move_kind = sa.case((to_stage.c.category == "won", timeline.WON), (to_stage.c.category == "lost", timeline.LOST),
                        (from_stage.c.category.in_(["won", "lost"]), timeline.REOPENED), else_=timeline.STAGE_CHANGED)
    moves = part(move_kind, deal_name, stays.c.enter_time, stays.c.actor_id,
                 sa.func.coalesce(from_stage.c.display_name, stays.c.from_key),
                 sa.func.coalesce(to_stage.c.display_name, stays.c.stage_key), stays.c.reason,
                 source=stays.join(deals, deals.c.id == stays.c.opportunity_id)
                 .outerjoin(to_stage, stage_of(to_stage, stays.c.stage_key))
                 .outerjoin(from_stage, stage_of(from_stage, stays.c.from_key))
                 ).where(stays.c.from_key.is_not(None))

    a = activities
    done = part(timeline.ACTIVITY, _name("opportunities/", a.c.opportunity_id, "/activities/", a.c.id), a.c.occur_time,
                a.c.author_id, a.c.kind, empty, a.c.notes, source=a.join(deals, deals.c.id == a.c.opportunity_id))
    t = tasks
    task_name = _name("opportunities/", t.c.opportunity_id, "/tasks/", t.c.id)
    task_source = t.join(deals, deals.c.id == t.c.opportunity_id)
    created = part(timeline.TASK_CREATED, task_name, t.c.create_time, t.c.creator_id, t.c.title, empty, empty,
                   source=task_source)
    completed = part(timeline.TASK_COMPLETED, task_name, t.c.complete_time, t.c.completed_by, t.c.title, empty,
                     empty, source=task_source).where(t.c.status == "done", t.c.complete_time.is_not(None))
    ordered = part(timeline.ERP_ORDER, deal_name, deals.c.erp_order_time, sa.null(), deals.c.erp_order_number, empty,
                   empty).where(deals.c.erp_order_number != "", deals.c.erp_order_time.is_not(None))

    items = sa.union_all(registered, moves, done, created, completed, ordered).subquery("items")
    return timeline_sql.page_statement(items, timeline.SOURCE, after)


_STATEMENTS = {after: RULE.per_shape(lambda visible, after=after: _statement(visible, after))
               for after in (False, True)}


class TimelineQuery:
    """Reads a customer's deal timeline."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def page(self, customer_id: str, viewer: visibility.Viewer, after: timeline_token.Cursor | None, limit: int
             ) -> list[TimelineFact]:
        """Up to ``limit`` facts after ``after``, in timeline order, from the deals ``viewer`` may open."""
        params = {"customer_id": customer_id, "limit": limit, **RULE.params(viewer),
                  **timeline_sql.after_params(after)}
        stmt = _STATEMENTS[after is not None][visibility.shape_of(viewer)]
        return [TimelineFact(kind=r.kind, resource=r.resource, event_time=r.event_time, actor_id=r.actor_id,
                             opportunity_id=r.opportunity_id, lead_id=r.lead_id, deal_title=r.deal_title,
                             subject=r.subject or "", detail=r.detail or "", summary=r.summary or "")
                for r in self.session.execute(stmt, params)]
