"""The company's lead settings in PostgreSQL (one row): the pool, de-duplication, scoring, grades."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from leads.adapters.orm import pool_settings
from leads.domain.pool import PoolSettings
from leads.domain.scoring import ScoringRule, ScoringSettings
from shangji_kit import plans
from shangji_kit.errors import Aborted
from shangji_kit.process_cache import ProcessCache


def _pool_of(row) -> PoolSettings:
    return PoolSettings(claim_cap=row.claim_cap, return_reasons=tuple(row.return_reasons),
                        recycle_after_days_without_follow_up=row.recycle_after_days_without_follow_up,
                        recycle_after_days_unconverted=row.recycle_after_days_unconverted,
                        reclaim_bar_days=row.reclaim_bar_days, dedupe_mode=row.dedupe_mode)


def _scoring_of(row) -> ScoringSettings:
    return ScoringSettings(
        rules=tuple(ScoringRule(r["field"], tuple(r["values"]), r["points"]) for r in row.scoring_rules),
        behaviour_points=dict(row.behaviour_points), mql_threshold=row.mql_threshold,
        sql_threshold=row.sql_threshold, sql_requires=tuple(row.sql_requires), convert_requires=row.convert_requires,
        customer_grades=tuple((g, m) for g, m in row.customer_grades), version=row.scoring_version)


class PoolSettingsRepository:
    """The company's settings (one row, ``company = 'default'``): the pool, de-duplication, scoring and
    qualification, customer grades.

    Every capture, conversion and claim reads them and an admin rarely writes them, so with a ``cache``
    (``shangji_kit.process_cache``) they are read once per process and dropped when the row changes (migration
    0011's trigger, whoever writes it). Reads for update, and reads after this unit of work wrote them, go to the
    database: a value this transaction wrote is not committed, and a rollback would tell nobody."""

    CACHE_NAME = "leads.pool_settings"

    def __init__(self, session: sa.Connection, cache: ProcessCache | None = None) -> None:
        self.session = session
        self.cache = cache
        self.wrote = False

    # Built once: every capture and conversion reads the settings; one row by key, whose plan PostgreSQL may keep.
    _SELECT = plans.generic(sa.select(pool_settings).where(pool_settings.c.company == "default"))
    _SELECT_FOR_UPDATE = _SELECT.with_for_update()

    def _read(self, for_update: bool = False) -> tuple[PoolSettings, ScoringSettings, int]:
        row = self.session.execute(self._SELECT_FOR_UPDATE if for_update else self._SELECT).first()
        if row is None:
            return PoolSettings(), ScoringSettings(), 0
        return _pool_of(row), _scoring_of(row), row.version

    def get_all(self, for_update: bool = False) -> tuple[PoolSettings, ScoringSettings, int]:
        """Both halves and the version (the settings' etag)."""
        if for_update or self.wrote or self.cache is None:
            return self._read(for_update)
        return self.cache.get(self.CACHE_NAME, self._read)

    def get(self) -> PoolSettings:
        return self.get_all()[0]

    def scoring(self) -> ScoringSettings:
        return self.get_all()[1]

    def save(self, pool: PoolSettings, scoring: ScoringSettings, expected_version: int) -> int:
        """Write both halves if nobody did since ``expected_version`` was read; the new version."""
        self.wrote = True
        values = {"claim_cap": pool.claim_cap, "return_reasons": list(pool.return_reasons),
                  "recycle_after_days_without_follow_up": pool.recycle_after_days_without_follow_up,
                  "recycle_after_days_unconverted": pool.recycle_after_days_unconverted,
                  "reclaim_bar_days": pool.reclaim_bar_days, "dedupe_mode": pool.dedupe_mode,
                  "scoring_rules": [{"field": r.field, "values": list(r.values), "points": r.points}
                                    for r in scoring.rules],
                  "behaviour_points": dict(scoring.behaviour_points), "mql_threshold": scoring.mql_threshold,
                  "sql_threshold": scoring.sql_threshold, "sql_requires": list(scoring.sql_requires),
                  "convert_requires": scoring.convert_requires,
                  "customer_grades": [list(g) for g in scoring.customer_grades],
                  "scoring_version": scoring.version}
        if expected_version == 0:
            stmt = pg.insert(pool_settings).values(company="default", version=1, **values).on_conflict_do_nothing()
            if self.session.execute(stmt).rowcount == 0:
                raise Aborted("the settings were changed concurrently; re-read them and retry")
            return 1
        stmt = (sa.update(pool_settings)
                .where(pool_settings.c.company == "default", pool_settings.c.version == expected_version)
                .values(version=expected_version + 1, **values))
        if self.session.execute(stmt).rowcount == 0:
            raise Aborted("the settings were changed concurrently; re-read them and retry")
        return expected_version + 1
