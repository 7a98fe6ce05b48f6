"""Pipelines and their versions in PostgreSQL."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from opportunities.adapters.orm import pipeline_stages, pipeline_versions, pipelines
from opportunities.domain.model import Pipeline
from opportunities.domain.pipeline import pipeline_from_dict, pipeline_to_dict

# (pipeline id, version) -> Pipeline, shared by the process's units of work (see PipelineRepository.get).
_VERSIONS: dict[tuple[str, int], Pipeline] = {}
_VERSIONS_KEPT = 1024


class PipelineRepository:
    """Pipelines and their versions; a version, once written, never changes."""

    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    _SELECT = (sa.select(pipelines.c.id, pipelines.c.is_default, pipeline_versions.c.version,
                         pipeline_versions.c.definition, pipeline_versions.c.create_time)
               .join(pipeline_versions, pipeline_versions.c.pipeline_id == pipelines.c.id))

    @staticmethod
    def _to_pipeline(row) -> Pipeline:
        return pipeline_from_dict(row.definition, id=row.id, version=row.version, is_default=row.is_default,
                                  create_time=row.create_time)

    # Only the default's id and latest version: its definition comes from the versions' cache (``get``), so a
    # converted lead's registration neither builds this statement nor parses the definition again.
    _DEFAULT = sa.select(pipelines.c.id, pipelines.c.version).where(pipelines.c.is_default)

    def default(self) -> Pipeline | None:
        """The latest version of the default pipeline."""
        row = self.session.execute(self._DEFAULT).first()
        pipeline = self.get(row.id, row.version) if row else None
        # A version cached while another pipeline was the default says is_default=False.
        return pipeline if pipeline is None or pipeline.is_default else dataclasses.replace(pipeline, is_default=True)

    def get(self, pipeline_id: str, version: int | None = None) -> Pipeline | None:
        """One version (the latest when ``version`` is None).

        A given version is read from the process's cache after its first load: versions are immutable
        (an edit writes the next version), and every stage move needs its deal's pipeline.
        """
        if version is not None and (cached := _VERSIONS.get((pipeline_id, version))) is not None:
            return cached
        wanted = pipelines.c.version if version is None else version
        row = self.session.execute(self._SELECT.where(
            pipelines.c.id == pipeline_id, pipeline_versions.c.version == wanted)).first()
        if row is None:
            return None
        pipeline = self._to_pipeline(row)
        if len(_VERSIONS) >= _VERSIONS_KEPT:
            _VERSIONS.clear()  # a crude bound: companies keep tens of versions, not thousands
        _VERSIONS[(pipeline_id, row.version)] = pipeline
        return pipeline

    def id_of(self, key: str, lock: bool = False) -> str | None:
        stmt = sa.select(pipelines.c.id).where(pipelines.c.key == key)
        return self.session.execute(stmt.with_for_update() if lock else stmt).scalar()

    def list_latest(self, limit: int, after_id: str | None) -> list[Pipeline]:
        """Latest versions by key, after the pipeline ``after_id``."""
        stmt = self._SELECT.where(pipeline_versions.c.version == pipelines.c.version)
        if after_id is not None:
            after_key = sa.select(pipelines.c.key).where(pipelines.c.id == after_id).scalar_subquery()
            stmt = stmt.where(pipelines.c.key > after_key)
        return [self._to_pipeline(r) for r in self.session.execute(stmt.order_by(pipelines.c.key).limit(limit))]

    def add(self, pipeline: Pipeline) -> bool:
        """A new pipeline at version 1; False when its key is taken (nothing written)."""
        inserted = self.session.execute(
            pg.insert(pipelines).values(id=pipeline.id, key=pipeline.key, display_name=pipeline.display_name,
                                        is_default=False, version=1)
            .on_conflict_do_nothing(index_elements=["key"]).returning(pipelines.c.id)).first()
        if inserted is None:
            return False
        self._add_version(pipeline.id, 1, pipeline)
        return True

    def add_version(self, pipeline_id: str, pipeline: Pipeline) -> int:
        """The next version of an existing pipeline (its row locked, so concurrent loads number in turn)."""
        version = self.session.execute(
            sa.update(pipelines).where(pipelines.c.id == pipeline_id)
            .values(version=pipelines.c.version + 1, display_name=pipeline.display_name)
            .returning(pipelines.c.version)).scalar_one()
        self._add_version(pipeline_id, version, pipeline)
        return version

    def _add_version(self, pipeline_id: str, version: int, pipeline: Pipeline) -> None:
        self.session.execute(sa.insert(pipeline_versions).values(
            pipeline_id=pipeline_id, version=version, definition=pipeline_to_dict(pipeline)))
        self.session.execute(sa.insert(pipeline_stages), [
            {"pipeline_id": pipeline_id, "version": version, "key": s.key, "position": s.position,
             "display_name": s.display_name, "category": s.category, "probability": s.probability}
            for s in pipeline.stages])
