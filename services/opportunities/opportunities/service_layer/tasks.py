"""Tasks on deals: made by those who may change the deal (or on entering a stage, ``deals.tasks_on_entry``),
completed or reopened by the assignee or them, listed per deal and per assignee."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from opportunities.domain import task_list, work
from opportunities.service_layer.deals import Clock, editable_deal, new_id, utc_now
from opportunities.service_layer.lifecycle import get_opportunity
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import company_time, filtering, ordering
from shangji_kit.caller import as_user_id
from shangji_kit.errors import FailedPrecondition, InvalidArgument, NotFound


@dataclass(frozen=True)
class CreateTask:
    opportunity_id: str
    title: str
    due_date: date | None
    assignee_id: str | None


def create_task(cmd: CreateTask, caller_id: str, uow: OpportunitiesUnitOfWork, *, clock: Clock = utc_now) -> work.Task:
    """A task on a deal for an active user, announced (TaskCreated) so notify tells the assignee."""
    now = clock()
    user_id = as_user_id(caller_id) or ""
    task = work.new_task(id=new_id(), opportunity_id=cmd.opportunity_id, title=cmd.title, due_date=cmd.due_date,
                         assignee_id=cmd.assignee_id, creator_id=user_id, now=now)
    with uow:
        opportunity, _ = editable_deal(uow, cmd.opportunity_id, caller_id, "")
        active = uow.org.is_active(task.assignee_id)
        if active is None:
            raise InvalidArgument.field("task.assignee", f"users/{task.assignee_id} is not a known user")
        if not active:
            raise FailedPrecondition(f"users/{task.assignee_id} is deactivated", reason="ASSIGNEE_INACTIVE",
                                     violations=[("ASSIGNEE", f"users/{task.assignee_id} is not active")],
                                     metadata={"assignee": f"users/{task.assignee_id}"})
        uow.tasks.add([task])
        uow.publish([work.TaskCreated(task, opportunity.title)])
        uow.commit()
    return task


def _task_for_change(opportunity_id: str, task_id: str, caller_id: str, uow: OpportunitiesUnitOfWork
                     ) -> tuple[work.Task, str]:
    """The task (locked) and the caller, who is its assignee or may change the deal."""
    user_id = as_user_id(caller_id)
    task = uow.tasks.get(opportunity_id, task_id)
    if task is None or task.assignee_id != user_id:
        editable_deal(uow, opportunity_id, caller_id, "")  # NOT_FOUND / PERMISSION_DENIED for anyone else
    if task is None:
        raise NotFound(f"opportunities/{opportunity_id}/tasks/{task_id}")
    return task, user_id


def complete_task(opportunity_id: str, task_id: str, caller_id: str, uow: OpportunitiesUnitOfWork,
                  *, clock: Clock = utc_now) -> work.Task:
    now = clock()
    with uow:
        task, user_id = _task_for_change(opportunity_id, task_id, caller_id, uow)
        task.complete(user_id, now)
        uow.tasks.update(task)
        uow.publish([work.TaskCompleted(task, user_id)])
        uow.commit()
    return task


def reopen_task(opportunity_id: str, task_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> work.Task:
    with uow:
        task, _ = _task_for_change(opportunity_id, task_id, caller_id, uow)
        task.reopen()
        uow.tasks.update(task)
        uow.commit()
    return task


def list_tasks(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork, filter_text: str = "",
               order_by: str = "", *, clock: Clock = utc_now) -> list[work.Task]:
    """The deal's tasks that pass the filter (README, "Lists"), oldest first unless ``order_by`` says otherwise."""
    flt = filtering.parse_filter(filter_text)
    filtering.check_fields(flt, task_list.FILTER_FIELDS)
    order = ordering.parse_order_by(order_by, task_list.ORDER_FIELDS, task_list.DEFAULT_ORDER)
    get_opportunity(opportunity_id, caller_id, uow)  # NOT_FOUND unless visible
    with uow:
        return uow.tasks.of_deal(opportunity_id, flt, order, company_time.today(clock()))


def list_my_tasks(caller_id: str, uow: OpportunitiesUnitOfWork) -> list[work.Task]:
    """The caller's open tasks over every deal, earliest due first."""
    user_id = as_user_id(caller_id)
    if user_id is None:
        return []
    with uow:
        return uow.tasks.open_of(user_id)
