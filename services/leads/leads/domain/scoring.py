"""Lead scoring and qualification (MQL / SQL). Plain Python: no database, no protos, no framework.

A lead's score is a pure function of its fields, the counts of its recorded behaviours and the
company's settings, so it can be recomputed after any change and explained by its parts.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from leads.domain.model import OPEN, Lead
from shangji_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied

UNQUALIFIED = "UNQUALIFIED"
MQL = "MQL"
SQL = "SQL"
QUALIFICATIONS = (UNQUALIFIED, MQL, SQL)
_RANK = {UNQUALIFIED: 0, MQL: 1, SQL: 2}

# The lead fields an attribute rule may test; "title" is the contact's job title (matched by substring).
ATTRIBUTE_FIELDS = ("industry", "company_size", "region", "title", "source")
# Each follow-up the holder records counts as a behaviour of this type.
FOLLOW_UP = "follow_up"
ATTRIBUTE = "attribute"
BEHAVIOUR = "behaviour"
# What sql_requires may name besides "flag:<name>".
CONTACT_REQUIREMENTS = ("phone", "email")
FLAG_PREFIX = "flag:"
BEHAVIOUR_TYPE_LIMIT = 40
FLAG_LIMIT = 40


@dataclass(frozen=True)
class ScoringRule:
    field: str
    values: tuple[str, ...]
    points: int


@dataclass(frozen=True)
class ScorePart:
    kind: str  # ATTRIBUTE or BEHAVIOUR
    key: str  # the rule's field, or the behaviour type
    value: str  # the lead's value that matched, or the count of behaviours
    points: int


DEFAULT_BEHAVIOUR_POINTS = {"visit": 10, "reply": 15, "email_open": 2, "webinar": 10, FOLLOW_UP: 5}
DEFAULT_GRADES = (("A", "strategic: large, high potential"), ("B", "growth: medium potential"),
                  ("C", "maintain: small or low potential"))


@dataclass(frozen=True)
class ScoringSettings:
    rules: tuple[ScoringRule, ...] = ()
    behaviour_points: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_BEHAVIOUR_POINTS))
    mql_threshold: int = 30
    sql_threshold: int = 60
    # Beyond the SQL threshold: "phone", "email", "flag:<name>" (a fact the rep confirmed, e.g. budget).
    sql_requires: tuple[str, ...] = ("phone",)
    # The qualification a lead needs before it may be converted without force: "" (none), MQL or SQL.
    convert_requires: str = ""
    customer_grades: tuple[tuple[str, str], ...] = DEFAULT_GRADES
    # Grows with every change of the fields above that affect scores (grades and the gate do not).
    version: int = 1

    def scores_differently(self, other: ScoringSettings) -> bool:
        return ((self.rules, dict(self.behaviour_points), self.mql_threshold, self.sql_threshold, self.sql_requires)
                != (other.rules, dict(other.behaviour_points), other.mql_threshold, other.sql_threshold,
                    other.sql_requires))


@functools.lru_cache(maxsize=65536)  # an import's values repeat (regions, industries, titles)
def _fold(value: str) -> str:
    return " ".join(value.split()).casefold()


def _value_of(lead: Lead, rule_field: str) -> str:
    return lead.contact_title if rule_field == "title" else getattr(lead, rule_field)


@functools.lru_cache(maxsize=4096)
def _matches(rule: ScoringRule, value: str) -> bool:
    folded = _fold(value)
    if not folded:
        return False
    if rule.field == "title":
        return any(_fold(v) in folded for v in rule.values if _fold(v))
    return any(_fold(v) == folded for v in rule.values)


def score_parts(lead: Lead, settings: ScoringSettings) -> tuple[ScorePart, ...]:
    """Every rule that matched and every behaviour type recorded, in settings order then by type."""
    parts = [ScorePart(ATTRIBUTE, rule.field, _value_of(lead, rule.field), rule.points)
             for rule in settings.rules if _matches(rule, _value_of(lead, rule.field))]
    for kind, count in sorted(lead.behaviour_counts.items()):
        points = settings.behaviour_points.get(kind, 0)
        if count and points:
            parts.append(ScorePart(BEHAVIOUR, kind, str(count), points * count))
    return tuple(parts)


def _unmet_sql_requirements(lead: Lead, settings: ScoringSettings) -> list[str]:
    unmet = []
    for requirement in settings.sql_requires:
        if requirement.startswith(FLAG_PREFIX):
            if requirement[len(FLAG_PREFIX):] not in lead.flags:
                unmet.append(requirement)
        elif not getattr(lead, requirement, ""):
            unmet.append(requirement)
    return unmet


def qualification_of(lead: Lead, score: int, settings: ScoringSettings) -> str:
    if score >= settings.sql_threshold and not _unmet_sql_requirements(lead, settings):
        return SQL
    return MQL if score >= settings.mql_threshold else UNQUALIFIED


def missing_for_next(lead: Lead, settings: ScoringSettings) -> list[str]:
    """What keeps the lead from the next qualification, in words a rep can act on."""
    if lead.qualification == SQL:
        return []
    missing = []
    target = settings.sql_threshold if lead.qualification == MQL else settings.mql_threshold
    if lead.score < target:
        missing.append(f"score {lead.score} < {target}")
    if lead.qualification == MQL:
        missing.extend(_unmet_sql_requirements(lead, settings))
    return missing


@dataclass(frozen=True)
class LeadQualificationChanged:
    lead: Lead
    from_qualification: str
    to_qualification: str
    score: int
    change_time: datetime


def rescore(lead: Lead, settings: ScoringSettings, now: datetime, *, new: bool = False) -> bool:
    """Recompute the score and qualification; a change of qualification (either way) is an event, except
    for a ``new`` lead: it is born with its qualification, which its LeadCreated carries.
    True when the score, its parts or the qualification changed (the lead needs saving)."""
    parts = score_parts(lead, settings)
    total = sum(p.points for p in parts)
    qualification = qualification_of(lead, total, settings)
    changed = (parts, total, qualification) != (lead.score_parts, lead.score, lead.qualification)
    if lead.qualification != qualification and not new:
        lead.events.append(LeadQualificationChanged(lead, lead.qualification, qualification, total, now))
    lead.score_parts, lead.score, lead.qualification = parts, total, qualification
    lead.scored_with = settings.version
    return changed


def score_new(lead: Lead, settings: ScoringSettings, now: datetime, known: dict) -> None:
    """``rescore(lead, settings, now, new=True)`` for many new leads: a new lead has no behaviours and no flags,
    so its score is a function of the fields the rules read and of which contacts it has, computed once per
    combination (``known``, kept by the caller across the leads)."""
    key = (lead.industry, lead.company_size, lead.region, lead.contact_title, lead.source, bool(lead.phone),
           bool(lead.email), lead.flags, bool(lead.behaviour_counts))
    found = known.get(key)
    if found is None or key[-2] or key[-1]:
        rescore(lead, settings, now, new=True)
        known[key] = (lead.score_parts, lead.score, lead.qualification)
        return
    lead.score_parts, lead.score, lead.qualification = found
    lead.scored_with = settings.version


# Behaviours happened in this company's lifetime: an earlier time is a client's mistake (and times the
# database cannot hold failed the call).
EARLIEST_BEHAVIOUR = datetime(1970, 1, 1, tzinfo=UTC)


def check_behaviour(kind: str, occur_time: datetime, now: datetime, settings: ScoringSettings) -> str:
    """The behaviour type, normalised; every bad field (``type``, ``occur_time``) at once."""
    violations: list[FieldViolation] = []
    kind = kind.strip().casefold()
    if not kind:
        violations.append(FieldViolation("type", "required"))
    elif kind not in settings.behaviour_points or kind == FOLLOW_UP:
        known = ", ".join(k for k in settings.behaviour_points if k != FOLLOW_UP)
        violations.append(FieldViolation(
            "type", f"not a behaviour type of the settings: {kind[:64]!r} (known: {known})"))
    if occur_time > now:
        violations.append(FieldViolation("occur_time", "in the future"))
    elif occur_time < EARLIEST_BEHAVIOUR:
        violations.append(FieldViolation("occur_time", f"before {EARLIEST_BEHAVIOUR.date().isoformat()}"))
    if violations:
        raise InvalidArgument(violations)
    return kind


def record_behaviour(lead: Lead, kind: str, settings: ScoringSettings, now: datetime) -> None:
    if lead.state != OPEN:
        raise FailedPrecondition(f"{lead.name} is already converted", reason="LEAD_ALREADY_CONVERTED",
                                 metadata={"resource": lead.name})
    counts = dict(lead.behaviour_counts)
    counts[kind] = counts.get(kind, 0) + 1
    lead.behaviour_counts = counts
    rescore(lead, settings, now)


def record_follow_up(lead: Lead, settings: ScoringSettings, now: datetime) -> None:
    """Each follow-up counts as a behaviour (points per the settings' ``follow_up``)."""
    lead.behaviour_counts = {**lead.behaviour_counts, FOLLOW_UP: lead.behaviour_counts.get(FOLLOW_UP, 0) + 1}
    rescore(lead, settings, now)


def check_conversion_gate(lead: Lead, settings: ScoringSettings, now: datetime, *, force: bool,
                          by_manager: bool) -> None:
    """The settings' ``convert_requires``, judged by the rules in force (a lead the worker has not rescored
    since they changed is rescored first): below it, FAILED_PRECONDITION unless ``force``, which only a
    manager above the owner may use."""
    if lead.scored_with < settings.version:
        rescore(lead, settings, now)
    if is_qualified_for_conversion(lead, settings):
        return
    if not force:
        raise FailedPrecondition(
            f"{lead.name} is {lead.qualification}; conversion needs {settings.convert_requires} "
            "(a manager above the owner may force it)", reason="LEAD_NOT_QUALIFIED",
            metadata={"resource": lead.name, "qualification": lead.qualification,
                      "required": settings.convert_requires, "score": str(lead.score)})
    if not by_manager:
        raise PermissionDenied(f"only a manager above the owner of {lead.name} may force its conversion",
                               reason="FORCE_NEEDS_MANAGER", metadata={"resource": lead.name})


def is_qualified_for_conversion(lead: Lead, settings: ScoringSettings) -> bool:
    if not settings.convert_requires:
        return True
    return _RANK[lead.qualification] >= _RANK[settings.convert_requires]


def check_flags(flags: list[str], path: str) -> tuple[str, ...]:
    cleaned: list[str] = []
    for i, flag in enumerate(flags):
        f = flag.strip().casefold()
        if not f or len(f) > FLAG_LIMIT or ":" in f:
            raise InvalidArgument.field(f"{path}[{i}]", f"a flag is 1..{FLAG_LIMIT} characters without ':'")
        if f not in cleaned:
            cleaned.append(f)
    return tuple(cleaned)


@dataclass(frozen=True)
class LeadScore:
    """A lead's score with what it lacks for the next qualification (e.g. ``score 35 < 60``, ``phone``)."""

    lead: Lead
    missing_for_next: list[str]


def check_settings(settings: ScoringSettings) -> list[FieldViolation]:
    """Every bad scoring setting at once (paths as in LeadSettings)."""
    violations: list[FieldViolation] = []
    for i, rule in enumerate(settings.rules):
        if rule.field not in ATTRIBUTE_FIELDS:
            violations.append(FieldViolation(f"settings.scoring_rules[{i}].field",
                                             f"one of {', '.join(ATTRIBUTE_FIELDS)}"))
        if not [v for v in rule.values if v.strip()]:
            violations.append(FieldViolation(f"settings.scoring_rules[{i}].values", "at least one value"))
    for kind in settings.behaviour_points:
        if not kind.strip() or len(kind) > BEHAVIOUR_TYPE_LIMIT or kind != kind.strip().casefold():
            violations.append(FieldViolation("settings.behaviour_points",
                                             f"a type is 1..{BEHAVIOUR_TYPE_LIMIT} lower-case characters: {kind!r}"))
    if settings.mql_threshold < 0:
        violations.append(FieldViolation("settings.mql_threshold", "not negative"))
    if settings.sql_threshold < settings.mql_threshold:
        violations.append(FieldViolation("settings.sql_threshold", "at least mql_threshold"))
    for i, requirement in enumerate(settings.sql_requires):
        if not (requirement in CONTACT_REQUIREMENTS
                or (requirement.startswith(FLAG_PREFIX) and len(requirement) > len(FLAG_PREFIX))):
            violations.append(FieldViolation(f"settings.sql_requires[{i}]", "phone, email or flag:<name>"))
    if settings.convert_requires not in ("", MQL, SQL):
        violations.append(FieldViolation("settings.convert_requires", "empty, MQL or SQL"))
    grades = [g for g, _ in settings.customer_grades]
    if not grades:
        violations.append(FieldViolation("settings.customer_grades", "at least one grade"))
    for i, grade in enumerate(grades):
        if not grade.strip() or len(grade) > 10 or grades.index(grade) != i:
            violations.append(FieldViolation(f"settings.customer_grades[{i}].grade",
                                             "1..10 characters, each grade once"))
    return violations
