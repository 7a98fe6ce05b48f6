"""The company's lead settings as one value: the pool's half, the scoring half and their version (the etag).

Plain Python. Which fields an update may name, how a masked update applies, and every rule a new value
must keep, checked all at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from leads.domain import dedupe, scoring
from leads.domain.pool import PoolSettings
from shangji_kit.errors import FieldViolation

POOL_FIELDS = ("claim_cap", "return_reasons", "recycle_after_days_without_follow_up", "recycle_after_days_unconverted",
               "reclaim_bar_days", "dedupe_mode")
# LeadSettings field -> ScoringSettings attribute.
SCORING_FIELDS = {"scoring_rules": "rules", "behaviour_points": "behaviour_points", "mql_threshold": "mql_threshold",
                  "sql_threshold": "sql_threshold", "sql_requires": "sql_requires",
                  "convert_requires": "convert_requires", "customer_grades": "customer_grades"}
FIELDS = POOL_FIELDS + tuple(SCORING_FIELDS)
# The recycle worker adds these days to holding times in SQL and Python: beyond ten years is no business rule,
# and a few million days overflow both (the worker failed on every tick).
MAX_DAYS = 3650


@dataclass(frozen=True)
class LeadSettings:
    pool: PoolSettings
    scoring: scoring.ScoringSettings
    version: int

    @property
    def etag(self) -> str:
        return str(self.version)

    def updated(self, new: LeadSettings, mask: tuple[str, ...]) -> LeadSettings:
        """These settings with the fields in ``mask`` taken from ``new``; a change that scores differently
        moves the scoring version (every open lead's score becomes stale). Same version: the store bumps it."""
        pool = dataclasses.replace(self.pool, **{f: getattr(new.pool, f) for f in mask if f in POOL_FIELDS})
        score = dataclasses.replace(self.scoring, **{
            SCORING_FIELDS[f]: getattr(new.scoring, SCORING_FIELDS[f]) for f in mask if f in SCORING_FIELDS})
        if score.scores_differently(self.scoring):
            score = dataclasses.replace(score, version=self.scoring.version + 1)
        return LeadSettings(pool, score, self.version)

    def violations(self) -> list[FieldViolation]:
        """Every bad setting at once (paths as in the API's LeadSettings)."""
        return check_pool(self.pool) + scoring.check_settings(self.scoring)


def check_pool(pool: PoolSettings) -> list[FieldViolation]:
    violations = []
    if pool.claim_cap < 0:
        violations.append(FieldViolation("settings.claim_cap", "not negative"))
    reasons = [r for r in pool.return_reasons if r.strip()]
    if not reasons or len(reasons) != len(pool.return_reasons) or len(set(reasons)) != len(reasons):
        violations.append(FieldViolation("settings.return_reasons", "at least one reason, none empty, each once"))
    for name in ("recycle_after_days_without_follow_up", "recycle_after_days_unconverted", "reclaim_bar_days"):
        days = getattr(pool, name)
        if days < 0:
            violations.append(FieldViolation(f"settings.{name}", "not negative (0 turns the rule off)"))
        elif days > MAX_DAYS:
            violations.append(FieldViolation(f"settings.{name}", f"at most {MAX_DAYS} days"))
    if pool.dedupe_mode not in dedupe.MODES:
        violations.append(FieldViolation("settings.dedupe_mode", f"one of {', '.join(dedupe.MODES)}"))
    return violations
