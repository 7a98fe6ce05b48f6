"""Reading and writing back one deal under its rules, shared by the workflows: who the caller is, whether they may
see or change the deal, saving it with its stage moves (history, tasks on entry, events), and what a caller is shown
of it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime

from opportunities.domain import audit, model, work
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import visibility
from shangji_kit.caller import as_user_id
from shangji_kit.errors import Aborted, FailedPrecondition, NotFound, PermissionDenied

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The system clock: every use case takes ``clock`` (this by default), so tests choose the time."""
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def visible_deal(uow: OpportunitiesUnitOfWork, opportunity_id: str, caller_id: str
                 ) -> tuple[model.Opportunity, visibility.Viewer]:
    """The deal and the caller's viewer; NOT_FOUND alike for a missing deal and for one they may not see."""
    user_id = as_user_id(caller_id)
    viewer = uow.org.viewer(user_id) if user_id is not None else None
    opportunity = uow.deals.get_visible(opportunity_id, viewer) if viewer is not None else None
    if opportunity is None:
        raise NotFound(f"opportunities/{opportunity_id}")
    return opportunity, viewer


def editable_deal(uow: OpportunitiesUnitOfWork, opportunity_id: str, caller_id: str, etag: str
                  ) -> tuple[model.Opportunity, str]:
    """The deal and the caller's user id, when the caller may change it and holds its current etag (if given)."""
    opportunity, viewer = visible_deal(uow, opportunity_id, caller_id)
    user_id, active = viewer.user_id, not viewer.deactivated
    # The owner may change their deal whatever else holds: their team membership and managers are not read
    # (a round trip fewer on most stage moves).
    others = opportunity.owner_id != user_id
    member = uow.teams.get(opportunity.id, user_id) if active and others else None
    editor = model.Editor(user_id=user_id, active=active, team_can_edit=member.can_edit if member else None,
                          manages_owner=others and uow.org.manages(viewer, opportunity.owner_id))
    if not model.may_edit(editor, opportunity):
        raise PermissionDenied(f"you may see {opportunity.name} but not change it",
                               reason="NOT_AN_EDITOR", metadata={"resource": opportunity.name})
    opportunity.require_registered()
    check_etag(opportunity, etag)
    return opportunity, user_id


def check_etag(opportunity: model.Opportunity, etag: str) -> None:
    """ABORTED when the caller gave an etag and it is no longer the deal's (AIP-154)."""
    if etag and etag != opportunity.etag:
        raise Aborted(f"{opportunity.name} changed since it was read (etag {opportunity.etag}); re-read it",
                      metadata={"resource": opportunity.name, "etag": opportunity.etag})


def save_deal(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity, expected_version: int,
              pipeline: model.Pipeline | None = None, *, cause: audit.Cause) -> None:
    """Write the deal back, its stage moves into the history, its events into the outbox, and what changed in its
    fields since it was read into its audit trail (``cause`` says who and why)."""
    if opportunity.loaded is None:  # every write path reads its deal through the repository, which snapshots it
        raise TypeError(f"{opportunity.name} was not read for a change")
    # Optimistic concurrency: a change committed since our read (an edit, a move, a handover) moved the version on.
    if not uow.deals.update(opportunity, expected_version):
        raise Aborted(f"{opportunity.name} changed concurrently; re-read it", reason="CONCURRENT_UPDATE",
                      metadata={"resource": opportunity.name})
    after = audit.snapshot(opportunity)
    change = audit.record(new_id(), opportunity.id, opportunity.loaded, after, cause, opportunity.update_time)
    opportunity.loaded = after
    entered = []
    for event in opportunity.events:
        if isinstance(event, model.StageMove):
            uow.deals.enter_stage(opportunity.id, event.to_stage, event.change_time, event.actor_id, event.reason)
            if isinstance(event, (model.OpportunityStageChanged, model.OpportunityReopened)):
                entered.append((event.to_stage, event.change_time))
    uow.publish(opportunity.events)
    if change is not None:
        record_changes(uow, [change])
    if entered:
        pipeline = pipeline or pipeline_of(uow, opportunity)
        for stage_key, time in entered:
            stage = pipeline.find(stage_key)
            if stage is not None:
                tasks_on_entry(uow, opportunity, stage, time)


def record_changes(uow: OpportunitiesUnitOfWork, entries: Iterable[audit.Change | None]) -> None:
    """Entries of deals' audit trails (None: nothing changed), each announced (OpportunityChanged) in the same
    transaction."""
    changes = [c for c in entries if c is not None]
    if changes:
        uow.changes.add(changes)
        uow.publish([audit.OpportunityChanged(c) for c in changes])


def pipeline_of(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity) -> model.Pipeline:
    pipeline = uow.pipelines.get(opportunity.pipeline_id, opportunity.pipeline_version)
    if pipeline is None:  # the foreign key keeps this from happening
        raise FailedPrecondition(f"{opportunity.name}: pipeline version {opportunity.pipeline_version} is missing",
                                 reason="PIPELINE_MISSING")
    return pipeline


def tasks_on_entry(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity, stage: model.Stage,
                   now: datetime) -> None:
    """The stage's tasks_on_entry for the deal that just entered it, each announced (TaskCreated)."""
    if not stage.tasks_on_entry:
        return
    made = work.tasks_on_entry(stage, opportunity.id, opportunity.owner_id, uow.teams.roles(opportunity.id),
                               new_id, now)
    uow.tasks.add(made)
    uow.publish([work.TaskCreated(t, opportunity.title) for t in made])


def shown_to(uow: OpportunitiesUnitOfWork, viewer: visibility.Viewer, opportunity: model.Opportunity
             ) -> model.Opportunity:
    """The deal as ``viewer`` is shown it: the deal a registration collided with is named only to someone who may
    see that deal (a rep whose registration was queued learns that it collided, not which deal it hit)."""
    return shown_all(uow, viewer, [opportunity])[0]


def shown_to_user(uow: OpportunitiesUnitOfWork, user_id: str, opportunity: model.Opportunity) -> model.Opportunity:
    """``shown_to`` for a caller whose viewer is not at hand: it is read only for a deal that collided, so the hot
    paths (AdvanceStage) pay nothing."""
    return shown_to(uow, uow.org.viewer(user_id), opportunity) if opportunity.collides_with else opportunity


def shown_all(uow: OpportunitiesUnitOfWork, viewer: visibility.Viewer, deals: list[model.Opportunity]
              ) -> list[model.Opportunity]:
    """``shown_to`` for many deals: one query, and none when no deal collided."""
    held = {o.collides_with for o in deals if o.collides_with}
    if not held:
        return deals
    seen = uow.deals.visible_ids(sorted(held), viewer)
    return [replace(o, collides_with=None) if o.collides_with and o.collides_with not in seen else o
            for o in deals]
