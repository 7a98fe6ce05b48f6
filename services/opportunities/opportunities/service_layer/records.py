"""Use cases on a deal's records: its decision chain, requirement items, solution documents, follow-up activities,
tasks and checklist completions; the samples and customer chains other services tell us about; pipeline version
migration. Reads follow the deal's visibility, writes its edit rights (``services.editable_deal``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from opportunities.domain import decision_chain, work
from opportunities.domain.decision_chain import DealContact
from opportunities.domain.pipeline import check_stage_mapping
from opportunities.service_layer.services import (
    caller_user_id,
    editable_deal,
    get_opportunity,
    new_id,
    pipeline_of,
    save_deal,
    shown_to,
    viewer_of,
)
from shangji_kit import names
from shangji_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.inbox import Delivery

if TYPE_CHECKING:
    from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork

CUSTOMER_CHAIN_CONSUMER = "opportunities.on_customer_decision_chain_changed"
CUSTOMER_CREATED_CONSUMER = "opportunities.on_customer_created"
CUSTOMER_UPDATED_CONSUMER = "opportunities.on_customer_updated"
SAMPLE_APPROVED_CONSUMER = "opportunities.on_sample_request_approved"
SAMPLE_DELIVERED_CONSUMER = "opportunities.on_sample_delivered"


def _visible(uow: OpportunitiesUnitOfWork, opportunity_id: str, caller_id: str) -> None:
    """NOT_FOUND unless the caller may see the deal (the same answer as for a missing one)."""
    get_opportunity(opportunity_id, caller_id, uow)


# --- decision chain ------------------------------------------------------------------------------------

def add_contact(opportunity_id: str, contact: DealContact, caller_id: str, uow: OpportunitiesUnitOfWork
                ) -> DealContact:
    now = datetime.now(UTC)
    contact = decision_chain.checked(replace(contact, id=new_id(), opportunity_id=opportunity_id, create_time=now,
                                             update_time=now))
    with uow:
        editable_deal(uow, opportunity_id, caller_id, "")
        uow.chains.add([contact])
        uow.commit()
    return contact


def update_contact(opportunity_id: str, contact_id: str, changes: dict[str, object], mask: tuple[str, ...],
                   caller_id: str, uow: OpportunitiesUnitOfWork) -> DealContact:
    """Change the fields in ``mask``; INVALID_ARGUMENT ``update_mask`` for an empty mask or another path."""
    if not mask:
        raise InvalidArgument.field("update_mask", f"required: {', '.join(decision_chain.UPDATABLE)}")
    unknown = [p for p in mask if p not in decision_chain.UPDATABLE]
    if unknown:
        raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}; updatable: "
                                                   f"{', '.join(decision_chain.UPDATABLE)}")
    now = datetime.now(UTC)
    with uow:
        editable_deal(uow, opportunity_id, caller_id, "")
        current = uow.chains.get(opportunity_id, contact_id)
        if current is None:
            raise NotFound(f"opportunities/{opportunity_id}/contacts/{contact_id}")
        updated = decision_chain.checked(replace(current, update_time=now, **{p: changes[p] for p in mask}))
        uow.chains.update(updated)
        uow.commit()
    return updated


def remove_contact(opportunity_id: str, contact_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> None:
    with uow:
        editable_deal(uow, opportunity_id, caller_id, "")
        if not uow.chains.remove(opportunity_id, contact_id):
            raise NotFound(f"opportunities/{opportunity_id}/contacts/{contact_id}")
        uow.commit()


def list_contacts(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> list[DealContact]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.chains.list(opportunity_id)


@dataclass(frozen=True)
class CustomerChain:
    customer_id: str
    revision: int
    contacts: tuple[DealContact, ...]
    change_time: datetime | None = None


def record_customer_chain(chain: CustomerChain, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Keep a customer's latest decision chain (the highest revision wins; an older one changes nothing), copied
    onto deals registered for that customer later. False when nothing changed."""
    with uow:
        if not uow.claim(delivery):
            return False
        kept = uow.chains.apply_customer_chain(chain.customer_id, chain.revision, list(chain.contacts),
                                               chain.change_time)
        uow.commit()
        return kept


@dataclass(frozen=True)
class CustomerOwner:
    customer_id: str
    owner_id: str
    update_time: datetime


def record_customer_owner(owner: CustomerOwner, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Keep who owns a leads customer (the newest state wins), so RegisterOpportunity can tell who may name it.
    False when nothing changed."""
    with uow:
        if not uow.claim(delivery):
            return False
        kept = uow.customers.apply_owner(owner.customer_id, owner.owner_id, owner.update_time)
        uow.commit()
        return kept


# --- requirement items and documents -----------------------------------------------------------------------

REQUIREMENT_FIELDS = ("text", "priority", "answer")


def add_requirement(opportunity_id: str, requirement: work.Requirement, caller_id: str,
                    uow: OpportunitiesUnitOfWork) -> work.Requirement:
    now = datetime.now(UTC)
    r = work.checked_requirement(replace(requirement, id=new_id(), opportunity_id=opportunity_id, create_time=now,
                                         update_time=now))
    with uow:
        editable_deal(uow, opportunity_id, caller_id, "")
        uow.work.add_requirement(r)
        uow.commit()
    return r


def update_requirement(opportunity_id: str, requirement_id: str, changes: dict[str, str], mask: tuple[str, ...],
                       caller_id: str, uow: OpportunitiesUnitOfWork) -> work.Requirement:
    if not mask:
        raise InvalidArgument.field("update_mask", f"required: {', '.join(REQUIREMENT_FIELDS)}")
    unknown = [p for p in mask if p not in REQUIREMENT_FIELDS]
    if unknown:
        raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}; updatable: "
                                                   f"{', '.join(REQUIREMENT_FIELDS)}")
    now = datetime.now(UTC)
    with uow:
        editable_deal(uow, opportunity_id, caller_id, "")
        current = uow.work.get_requirement(opportunity_id, requirement_id)
        if current is None:
            raise NotFound(f"opportunities/{opportunity_id}/requirements/{requirement_id}")
        updated = work.checked_requirement(replace(current, update_time=now, **{p: changes[p] for p in mask}))
        uow.work.update_requirement(updated)
        uow.commit()
    return updated


def list_requirements(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> list[work.Requirement]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.work.requirements(opportunity_id)


def add_document_version(document: work.DocumentVersion, caller_id: str, uow: OpportunitiesUnitOfWork
                         ) -> work.DocumentVersion:
    """The next version of a named document (1 for a new name); earlier versions stay."""
    now = datetime.now(UTC)
    d = work.checked_document(replace(document, create_time=now))
    with uow:
        _, user_id = editable_deal(uow, d.opportunity_id, caller_id, "")
        d = replace(d, author_id=user_id)
        d = replace(d, version=uow.work.add_document_version(d))
        uow.commit()
    return d


def list_documents(opportunity_id: str, document: str, caller_id: str, uow: OpportunitiesUnitOfWork
                   ) -> list[work.DocumentVersion]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.work.documents(opportunity_id, " ".join(document.split()) or None)


# --- samples (samples' events) -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SampleSeen:
    request_id: str
    opportunity_id: str
    kind: str  # approved / delivered
    time: datetime


def record_sample(sample: SampleSeen, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Count an approved or delivered sample request for its deal, once per request whatever the deliveries."""
    with uow:
        if not uow.claim(delivery):
            return False
        counted = uow.work.record_sample(sample.request_id, sample.kind, sample.opportunity_id, sample.time)
        uow.commit()
        return counted


# --- activities and tasks ------------------------------------------------------------------------------------

def add_activity(activity: work.Activity, caller_id: str, uow: OpportunitiesUnitOfWork) -> work.Activity:
    now = datetime.now(UTC)
    with uow:
        _, user_id = editable_deal(uow, activity.opportunity_id, caller_id, "")
        a = work.checked_activity(replace(activity, id=new_id(), author_id=user_id), now)
        uow.work.add_activity(a)
        uow.commit()
    return a


def list_activities(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> list[work.Activity]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.work.activities(opportunity_id)


@dataclass(frozen=True)
class CreateTask:
    opportunity_id: str
    title: str
    due_date: date | None
    assignee_id: str | None


def create_task(cmd: CreateTask, caller_id: str, uow: OpportunitiesUnitOfWork) -> work.Task:
    """A task on a deal for an active user, announced (TaskCreated) so notify tells the assignee."""
    now = datetime.now(UTC)
    user_id = caller_user_id(caller_id) or ""
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
        uow.work.add_tasks([task])
        uow.publish([work.TaskCreated(task, opportunity.title)])
        uow.commit()
    return task


def _task_for_change(opportunity_id: str, task_id: str, caller_id: str, uow: OpportunitiesUnitOfWork
                     ) -> tuple[work.Task, str]:
    """The task (locked) and the caller, who is its assignee or may change the deal."""
    user_id = caller_user_id(caller_id)
    task = uow.work.get_task(opportunity_id, task_id)
    if task is None or task.assignee_id != user_id:
        editable_deal(uow, opportunity_id, caller_id, "")  # NOT_FOUND / PERMISSION_DENIED for anyone else
    if task is None:
        raise NotFound(f"opportunities/{opportunity_id}/tasks/{task_id}")
    return task, user_id


def complete_task(opportunity_id: str, task_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> work.Task:
    now = datetime.now(UTC)
    with uow:
        task, user_id = _task_for_change(opportunity_id, task_id, caller_id, uow)
        task.complete(user_id, now)
        uow.work.update_task(task)
        uow.publish([work.TaskCompleted(task, user_id)])
        uow.commit()
    return task


def reopen_task(opportunity_id: str, task_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> work.Task:
    with uow:
        task, _ = _task_for_change(opportunity_id, task_id, caller_id, uow)
        task.reopen()
        uow.work.update_task(task)
        uow.commit()
    return task


def list_tasks(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> list[work.Task]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.work.tasks(opportunity_id)


def list_my_tasks(caller_id: str, uow: OpportunitiesUnitOfWork) -> list[work.Task]:
    """The caller's open tasks over every deal, earliest due first."""
    user_id = caller_user_id(caller_id)
    if user_id is None:
        return []
    with uow:
        return uow.work.open_tasks_of(user_id)


# --- checklist -------------------------------------------------------------------------------------------

def complete_checklist_item(opportunity_id: str, item: str, etag: str, caller_id: str,
                            uow: OpportunitiesUnitOfWork):
    """Complete one checklist item (recording who and when); completing a completed item changes nothing."""
    item = item.strip()
    if not item:
        raise InvalidArgument.field("item", "required: a checklist item key")
    now = datetime.now(UTC)
    with uow:
        opportunity, user_id = editable_deal(uow, opportunity_id, caller_id, etag)
        pipeline = pipeline_of(uow, opportunity)
        if item not in pipeline.checklist_labels():
            raise InvalidArgument.field("item", f"unknown checklist item {item!r} in pipeline {pipeline.key} "
                                                f"version {pipeline.version}")
        if item in opportunity.checklist:
            return shown_to(uow, uow.org.viewer(user_id), opportunity) if opportunity.collides_with else opportunity
        expected = opportunity.version
        opportunity.change({"checklist": (*opportunity.checklist, item)}, pipeline, now.date(), now)
        uow.work.record_checklist(opportunity.id, [item], user_id, now)
        save_deal(uow, opportunity, expected, pipeline)
        shown = shown_to(uow, uow.org.viewer(user_id), opportunity) if opportunity.collides_with else opportunity
        uow.commit()
        return shown


def list_checklist_completions(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork
                               ) -> list[tuple[str, str, datetime]]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.work.checklist_completions(opportunity_id)


# --- pipeline version migration --------------------------------------------------------------------------

@dataclass(frozen=True)
class MigrateOpportunities:
    """As given: resource names, checked after the caller (only sales ops and admins migrate)."""

    pipeline: str
    from_version: int
    to_version: int
    stage_mapping: dict[str, str]
    opportunities: tuple[str, ...] = ()


def migrate_opportunities(cmd: MigrateOpportunities, caller_id: str, uow: OpportunitiesUnitOfWork) -> list[str]:
    """Move deals of a pipeline from one version to another by the stage mapping (sales ops, admins); deals not
    named (when some are) or in an unmapped stage stay. Each move is a stage-history entry. The ids moved. The caller
    is checked before the request."""
    user_id = caller_user_id(caller_id)
    now = datetime.now(UTC)
    with uow:
        viewer = viewer_of(uow, user_id)[0] if user_id else None
        if viewer is None or not viewer.sees_everything or viewer.deactivated:
            raise PermissionDenied("only sales ops and admins migrate deals between pipeline versions",
                                   reason="NOT_A_PIPELINE_ADMIN")
        pipeline_id = names.parse(cmd.pipeline, "pipelines", "pipeline")
        opportunity_ids = [names.parse(n, "opportunities", f"opportunities[{i}]")
                           for i, n in enumerate(cmd.opportunities)]
        if cmd.from_version < 1:
            raise InvalidArgument.field("from_version", "required: a version of the pipeline")
        if cmd.to_version < 1:
            raise InvalidArgument.field("to_version", "required: a version of the pipeline")
        if cmd.from_version == cmd.to_version:
            raise InvalidArgument.field("to_version", f"the deals are in version {cmd.from_version} already")
        if uow.pipelines.get(pipeline_id) is None:
            raise NotFound(f"pipelines/{pipeline_id}")
        old = uow.pipelines.get(pipeline_id, cmd.from_version)
        if old is None:
            raise InvalidArgument.field("from_version", f"pipelines/{pipeline_id} has no version "
                                                        f"{cmd.from_version}")
        new = uow.pipelines.get(pipeline_id, cmd.to_version)
        if new is None:
            raise InvalidArgument.field("to_version", f"pipelines/{pipeline_id} has no version {cmd.to_version}")
        mapping = check_stage_mapping(old, new, cmd.stage_mapping)
        moved = uow.opportunities.migrate(pipeline_id, cmd.from_version, cmd.to_version, mapping,
                                          opportunity_ids or None, now)
        uow.history.enter_many([(deal_id, new_stage) for deal_id, _, new_stage in moved], now, user_id,
                               f"pipeline migrated from version {cmd.from_version} to {cmd.to_version}")
        uow.commit()
        return [deal_id for deal_id, _, _ in moved]
