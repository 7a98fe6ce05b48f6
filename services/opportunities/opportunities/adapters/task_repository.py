"""Tasks on deals in PostgreSQL."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from opportunities.adapters.deal_rows import visible
from opportunities.adapters.orm import opportunities, tasks
from opportunities.domain import task_list, work
from shangji_kit import filtering, ordering, visibility
from shangji_kit.list_query import ListQuery
from shangji_kit.ordering import SortKey
from shangji_kit.paging import Page


def _task(row) -> work.Task:
    return work.Task(id=row.id, opportunity_id=row.opportunity_id, title=row.title, due_date=row.due_date,
                     assignee_id=row.assignee_id, create_time=row.create_time, status=row.status,
                     creator_id=row.creator_id, stage_key=row.stage_key, complete_time=row.complete_time,
                     completed_by=row.completed_by)


_TASK_FIELDS = ("id", "opportunity_id", "title", "due_date", "assignee_id", "create_time", "status", "creator_id",
                "stage_key", "complete_time", "completed_by")


def _fields(today: date) -> filtering.Fields:
    f = filtering
    return {
        "state": f.Column(tasks.c.status, f.choice_value({"OPEN": work.OPEN, "DONE": work.DONE})),
        "assignee": f.Column(tasks.c.assignee_id, f.resource_id_value("users")),
        "creator": f.Column(tasks.c.creator_id, f.resource_id_value("users")),
        "stage": f.Column(tasks.c.stage_key),
        "due_date": f.Column(tasks.c.due_date, f.date_value, f.ORDERED),
        "overdue": f.Flag(lambda: sa.and_(tasks.c.status == work.OPEN, tasks.c.due_date < today)),
        "create_time": f.Column(tasks.c.create_time, f.time_value, f.ORDERED),
        "complete_time": f.Column(tasks.c.complete_time, f.time_value, f.ORDERED),
    }


_SORT_KEYS = {
    "due_date": SortKey(tasks.c.due_date, "date"),
    "create_time": SortKey(tasks.c.create_time, "time"),
    "complete_time": SortKey(tasks.c.complete_time, "time", nullable=True),
    "title": SortKey(tasks.c.title, "text"),
}


def _listed(viewer: visibility.Viewer, opportunity_id: str | None, query: ListQuery, today: date) -> sa.Select:
    stmt = sa.select(tasks).where(filtering.compile_filter(query.filter, _fields(today)))
    if opportunity_id is not None:
        return stmt.where(tasks.c.opportunity_id == opportunity_id)  # the caller checked the deal is visible
    return stmt.join(opportunities, opportunities.c.id == tasks.c.opportunity_id).where(visible(viewer))


class TaskRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    # tasks
    def add(self, new: list[work.Task]) -> None:
        if new:
            self.session.execute(sa.insert(tasks), [{f: getattr(t, f) for f in _TASK_FIELDS} for t in new])

    def get(self, opportunity_id: str, task_id: str) -> work.Task | None:
        row = self.session.execute(sa.select(tasks).where(tasks.c.opportunity_id == opportunity_id,
                                                          tasks.c.id == task_id).with_for_update()).first()
        return _task(row) if row else None

    def update(self, t: work.Task) -> None:
        self.session.execute(sa.update(tasks).where(tasks.c.id == t.id).values(
            status=t.status, complete_time=t.complete_time, completed_by=t.completed_by))

    def of_deal(self, opportunity_id: str, flt: filtering.Filter | None = None,
                order_by: str = task_list.DEFAULT_ORDER, today: date | None = None) -> list[work.Task]:
        """The deal's tasks that pass ``flt``, in ``order_by`` (canonical); ``today`` is the company's date."""
        where = filtering.compile_filter(flt, _fields(today or date.today())) if flt is not None else sa.true()
        order = ordering.ordering(order_by, _SORT_KEYS)
        rows = self.session.execute(sa.select(tasks).where(tasks.c.opportunity_id == opportunity_id, where)
                                    .order_by(*ordering.order_clauses(order, tasks.c.id)))
        return [_task(r) for r in rows]

    def move_open(self, opportunity_ids: list[str], from_assignee_id: str, to_assignee_id: str) -> int:
        """Give ``from_assignee_id``'s open tasks on these deals to ``to_assignee_id``; how many moved."""
        if not opportunity_ids:
            return 0
        return self.session.execute(sa.update(tasks).where(
            tasks.c.opportunity_id.in_(opportunity_ids), tasks.c.assignee_id == from_assignee_id,
            tasks.c.status == work.OPEN).values(assignee_id=to_assignee_id)).rowcount

    def list_visible(self, viewer: visibility.Viewer, opportunity_id: str | None, query: ListQuery, today: date
                     ) -> Page[work.Task]:
        """One page of the tasks of the deal (every deal ``viewer`` may see, when None) that pass ``query``'s
        filter, in its order: ``of_deal``'s rows, in keyset pages."""
        order = ordering.ordering(query.order_by, _SORT_KEYS)
        return ordering.read_page(self.session, _listed(viewer, opportunity_id, query, today), order, tasks.c.id,
                                  query.filter.text, query.page_token, query.limit, _task)

    def count_visible(self, viewer: visibility.Viewer, opportunity_id: str | None, query: ListQuery, today: date
                      ) -> int:
        """How many tasks ``list_visible`` lists over all its pages."""
        return ordering.count_rows(self.session, _listed(viewer, opportunity_id, query, today))

    def open_of(self, assignee_id: str, limit: int = 500) -> list[work.Task]:
        rows = self.session.execute(sa.select(tasks).where(tasks.c.assignee_id == assignee_id,
                                                           tasks.c.status == work.OPEN)
                                    .order_by(tasks.c.due_date, tasks.c.create_time, tasks.c.id).limit(limit))
        return [_task(r) for r in rows]
