"""Pipelines: defining them (sales ops, or the CLI's load as the next version), reading them, and moving deals
between a pipeline's versions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from opportunities.domain import audit, model
from opportunities.domain.pipeline import check_stage_mapping, pipeline_from_dict
from opportunities.service_layer.deals import Clock, new_id, record_changes, utc_now
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import names, paging
from shangji_kit.caller import as_user_id
from shangji_kit.errors import Aborted, AlreadyExists, InvalidArgument, NotFound, PermissionDenied


@dataclass(frozen=True)
class PipelinePage:
    pipelines: list[model.Pipeline]
    next_page_token: str


def _require_pipeline_admin(uow: OpportunitiesUnitOfWork, caller_id: str, action: str) -> str:
    """The caller's user id when they are active sales ops or an admin; PERMISSION_DENIED before anything else."""
    user_id = as_user_id(caller_id)
    viewer = uow.org.viewer(user_id) if user_id else None
    if viewer is None or not viewer.sees_everything or viewer.deactivated:
        raise PermissionDenied(f"only sales ops and admins {action}", reason="NOT_A_PIPELINE_ADMIN")
    return user_id


def create_pipeline(definition: dict, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Pipeline:
    """A new pipeline at version 1, defined by sales ops or an admin; ALREADY_EXISTS when its key is taken. The
    caller is checked before the definition: someone who may not define pipelines learns nothing of its rules."""
    with uow:
        _require_pipeline_admin(uow, caller_id, "define pipelines")
        pipeline = model_pipeline(definition)
        if not uow.pipelines.add(pipeline):
            raise AlreadyExists(f"a pipeline with key {pipeline.key!r} exists; load a new version of it instead",
                                metadata={"key": pipeline.key})
        uow.commit()
    return uow_pipeline(uow, pipeline.id)


def load_pipeline(definition: dict, uow: OpportunitiesUnitOfWork) -> model.Pipeline:
    """The CLI's load: a new pipeline, or the next version of the one with this key (deals keep their version)."""
    pipeline = model_pipeline(definition)
    with uow:
        existing = uow.pipelines.id_of(pipeline.key, lock=True)
        if existing is None:
            if not uow.pipelines.add(pipeline):
                raise Aborted(f"pipeline {pipeline.key} was created concurrently; load again")
            pipeline_id = pipeline.id
        else:
            uow.pipelines.add_version(existing, pipeline)
            pipeline_id = existing
        uow.commit()
    return uow_pipeline(uow, pipeline_id)


def model_pipeline(definition: dict) -> model.Pipeline:
    return pipeline_from_dict(definition, id=str(uuid.uuid4()))


def uow_pipeline(uow: OpportunitiesUnitOfWork, pipeline_id: str, version: int | None = None) -> model.Pipeline:
    with uow:
        pipeline = uow.pipelines.get(pipeline_id, version)
    if pipeline is None:
        raise NotFound(f"pipelines/{pipeline_id}" + (f" version {version}" if version else ""))
    return pipeline


def get_pipeline(pipeline_id: str, version: int, uow: OpportunitiesUnitOfWork) -> model.Pipeline:
    if version < 0:
        raise InvalidArgument.field("version", "must not be negative")
    return uow_pipeline(uow, pipeline_id, version or None)


def list_pipelines(page_size: int, page_token: str, uow: OpportunitiesUnitOfWork) -> PipelinePage:
    """Pipelines (latest versions) by key, one page at a time."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    with uow:
        rows = uow.pipelines.list_latest(limit + 1, after[1] if after else None)
    page = rows[:limit]
    # The kit's token carries (time, id); pipelines page by key, so the time is a constant and the id the last seen.
    token = paging.encode_token(datetime.fromtimestamp(0, UTC), page[-1].id) if len(rows) > limit else ""
    return PipelinePage(page, token)


@dataclass(frozen=True)
class MigrateOpportunities:
    """As given: resource names, checked after the caller (only sales ops and admins migrate)."""

    pipeline: str
    from_version: int
    to_version: int
    stage_mapping: dict[str, str]
    opportunities: tuple[str, ...] = ()


def migrate_opportunities(cmd: MigrateOpportunities, caller_id: str, uow: OpportunitiesUnitOfWork,
                          *, clock: Clock = utc_now) -> list[str]:
    """Move deals of a pipeline from one version to another by the stage mapping (sales ops, admins); deals not
    named (when some are) or in an unmapped stage stay. Each move is a stage-history entry. The ids moved. The caller
    is checked before the request."""
    now = clock()
    with uow:
        user_id = _require_pipeline_admin(uow, caller_id, "migrate deals between pipeline versions")
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
        moved = uow.deals.migrate(pipeline_id, cmd.from_version, cmd.to_version, mapping,
                                          opportunity_ids or None, now)
        reason = f"pipeline migrated from version {cmd.from_version} to {cmd.to_version}"
        uow.deals.enter_stages([(deal_id, new_stage) for deal_id, _, new_stage in moved], now, user_id, reason)
        # The set-based move writes the stage and the version only, so those are what is diffed. The contract counts
        # a migration as the system's change (no actor); the stage history names the caller.
        cause = audit.Cause(audit.MIGRATE, None, reason)
        record_changes(uow, [audit.record(new_id(), deal_id,
                                          {"stage": old_stage, "pipeline_version": str(cmd.from_version)},
                                          {"stage": new_stage, "pipeline_version": str(cmd.to_version)}, cause, now)
                             for deal_id, old_stage, new_stage in moved])
        uow.commit()
        return [deal_id for deal_id, _, _ in moved]
