"""Pipelines: versioned, ordered stages with checklists and exit criteria, loaded from data (YAML, the API).

Plain Python. ``pipeline_from_dict`` is the one validating loader: the CLI's YAML and CreatePipeline's message
both come through it, so both are refused with the same precise errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from opportunities.domain import gates
from shangji_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument

OPEN, WON, LOST = "open", "won", "lost"
CATEGORIES = (OPEN, WON, LOST)
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class ChecklistItem:
    """An activity a role should complete in a stage (guidance; a criterion may require it)."""

    key: str
    role: str
    description: str


@dataclass(frozen=True)
class TaskTemplate:
    """A task made when a deal enters the stage: for the team member with ``role``, else the owner; due
    ``due_in_days`` after entry."""

    title: str
    role: str = ""
    due_in_days: int = 0


@dataclass(frozen=True)
class Stage:
    key: str
    display_name: str
    category: str
    probability: int
    position: int
    max_days: int | None = None
    checklist: tuple[ChecklistItem, ...] = ()
    exit_criteria: tuple[gates.Criterion, ...] = ()
    tasks_on_entry: tuple[TaskTemplate, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    id: str
    key: str
    display_name: str
    is_default: bool
    stages: tuple[Stage, ...]
    version: int = 1
    allows_skipping: bool = False
    lost_reasons: tuple[str, ...] = ()
    create_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"pipelines/{self.id}"

    def first_open_stage(self) -> Stage:
        """Where a new deal starts: the lowest-positioned stage that is neither won nor lost."""
        for stage in sorted(self.stages, key=lambda s: s.position):
            if stage.category == OPEN:
                return stage
        raise FailedPrecondition(f"pipeline {self.key} has no open stage", reason="NO_OPEN_STAGE",
                                 metadata={"pipeline": self.name})

    def find(self, key: str) -> Stage | None:
        return next((s for s in self.stages if s.key == key), None)

    def stage(self, key: str, field: str = "target_stage") -> Stage:
        stage = self.find(key)
        if stage is None:
            raise InvalidArgument.field(field, f"unknown stage {key!r} in pipeline {self.key} version {self.version}; "
                                               f"stages: {', '.join(s.key for s in self.stages)}")
        return stage

    def open_stages(self) -> list[Stage]:
        return [s for s in sorted(self.stages, key=lambda s: s.position) if s.category == OPEN]

    def closing_stage(self, category: str) -> Stage:
        stage = next((s for s in self.stages if s.category == category), None)
        if stage is None:
            raise FailedPrecondition(f"pipeline {self.key} version {self.version} has no {category} stage",
                                     reason=f"NO_{category.upper()}_STAGE", metadata={"pipeline": self.name})
        return stage

    def checklist_labels(self) -> dict[str, str]:
        return {item.key: item.description for s in self.stages for item in s.checklist}

    def stages_passed(self, current: Stage, target: Stage) -> list[Stage]:
        """The open stages a forward move from ``current`` to ``target`` leaves behind (current first), checking the
        skip rule: more than one stage forward is refused unless the pipeline allows skipping."""
        opens = self.open_stages()
        start = opens.index(current)
        end = opens.index(target) if target.category == OPEN else len(opens)
        passed = opens[start:end]
        if len(passed) > 1 and not self.allows_skipping:
            skipped = ", ".join(s.key for s in passed[1:])
            raise FailedPrecondition(
                f"pipeline {self.key} does not allow skipping stages: move from {current.key} to "
                f"{opens[start + 1].key} first", reason="STAGE_SKIPPING_NOT_ALLOWED",
                violations=[("STAGE_ORDER", f"stages skipped: {skipped}")],
                metadata={"from_stage": current.key, "target_stage": target.key})
        return passed


# --- loading a definition ------------------------------------------------------------------------------

_PIPELINE_KEYS = {"key", "display_name", "allows_skipping", "lost_reasons", "stages"}
_STAGE_KEYS = {"key", "display_name", "category", "probability", "max_days", "checklist", "exit_criteria",
               "tasks_on_entry"}
_TASK_KEYS = {"title", "role", "due_in_days"}
MAX_DAYS = 3650  # a stage's max_days and a task's due_in_days


def pipeline_from_dict(data: object, *, id: str = "", version: int = 1, is_default: bool = False,
                       create_time: datetime | None = None) -> Pipeline:
    """A pipeline from its dict form (YAML, JSON); INVALID_ARGUMENT listing every problem, each located
    (``stages[2].exit_criteria[0]``) and naming the stage."""
    v: list[FieldViolation] = []
    if not isinstance(data, dict):
        raise InvalidArgument.field("pipeline", "must be a mapping with key, display_name and stages")
    for extra in sorted(set(data) - _PIPELINE_KEYS):
        v.append(FieldViolation(str(extra), f"unknown setting; settings: {', '.join(sorted(_PIPELINE_KEYS))}"))
    key = data.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        v.append(FieldViolation("key", "required: lower-case letters, digits and _ , starting with a letter"))
    display_name = data.get("display_name")
    if not isinstance(display_name, str) or not display_name.strip():
        v.append(FieldViolation("display_name", "required"))
    allows_skipping = data.get("allows_skipping", False)
    if not isinstance(allows_skipping, bool):
        v.append(FieldViolation("allows_skipping", "must be true or false"))
    lost_reasons = data.get("lost_reasons", [])
    if not isinstance(lost_reasons, list) or not all(isinstance(r, str) and r.strip() for r in lost_reasons):
        v.append(FieldViolation("lost_reasons", "must be a list of non-empty reasons"))
        lost_reasons = []
    elif len(set(lost_reasons)) != len(lost_reasons):
        v.append(FieldViolation("lost_reasons", "must not repeat a reason"))
    raw_stages = data.get("stages")
    stages: list[Stage] = []
    if not isinstance(raw_stages, list) or not raw_stages:
        v.append(FieldViolation("stages", "required: a non-empty list of stages"))
    else:
        for i, raw in enumerate(raw_stages):
            stage = _stage_from_dict(raw, i, v)
            if stage is not None:
                stages.append(stage)
    if stages and len(stages) == len(raw_stages):
        _check_order(stages, v)
    if v:
        raise InvalidArgument(v, reason="INVALID_PIPELINE")
    return Pipeline(id=id, key=key, display_name=display_name.strip(), is_default=is_default, stages=tuple(stages),
                    version=version, allows_skipping=allows_skipping,
                    lost_reasons=tuple(r.strip() for r in lost_reasons), create_time=create_time)


def _stage_from_dict(raw: object, i: int, v: list[FieldViolation]) -> Stage | None:
    path = f"stages[{i}]"
    if not isinstance(raw, dict):
        v.append(FieldViolation(path, "must be a mapping"))
        return None
    key = raw.get("key")
    label = f"stage {key!r}" if isinstance(key, str) else f"stage {i + 1}"
    before = len(v)
    for extra in sorted(set(raw) - _STAGE_KEYS):
        v.append(FieldViolation(f"{path}.{extra}",
                                f"{label}: unknown setting; settings: {', '.join(sorted(_STAGE_KEYS))}"))
    if not isinstance(key, str) or not _KEY.match(key):
        v.append(FieldViolation(f"{path}.key", f"{label}: required: lower-case letters, digits and _"))
    display_name = raw.get("display_name")
    if not isinstance(display_name, str) or not display_name.strip():
        v.append(FieldViolation(f"{path}.display_name", f"{label}: required"))
    category = raw.get("category", OPEN)
    if category not in CATEGORIES:
        v.append(FieldViolation(f"{path}.category", f"{label}: must be one of {', '.join(CATEGORIES)}"))
    probability = raw.get("probability")
    if isinstance(probability, bool) or not isinstance(probability, int) or not 0 <= probability <= 100:
        v.append(FieldViolation(f"{path}.probability", f"{label}: required: a whole number from 0 to 100"))
    max_days = raw.get("max_days")
    # Bounded like due_in_days: the alert scan adds it to dates, and a day count past what a date holds would stop
    # every alert (the scan runs over all deals at once).
    if max_days is not None and (isinstance(max_days, bool) or not isinstance(max_days, int)
                                 or not 1 <= max_days <= MAX_DAYS):
        v.append(FieldViolation(f"{path}.max_days", f"{label}: must be a whole number of days from 1 to {MAX_DAYS}"))
    checklist = _checklist_from_dict(raw.get("checklist", {}), f"{path}.checklist", label, v)
    criteria: list[gates.Criterion] = []
    raw_criteria = raw.get("exit_criteria", [])
    if not isinstance(raw_criteria, list):
        v.append(FieldViolation(f"{path}.exit_criteria", f"{label}: must be a list of criteria"))
    else:
        keys = frozenset(item.key for item in checklist)
        for j, raw_criterion in enumerate(raw_criteria):
            try:
                criteria.append(gates.criterion_from_dict(raw_criterion, f"{path}.exit_criteria[{j}]", keys))
            except gates.CriterionError as exc:
                v.append(FieldViolation(exc.path, f"{label}: {exc.description}"))
    tasks = _tasks_from_list(raw.get("tasks_on_entry", []), f"{path}.tasks_on_entry", label, v)
    if len(v) > before:
        return None
    return Stage(key=key, display_name=display_name.strip(), category=category, probability=probability,
                 position=i + 1, max_days=max_days, checklist=tuple(checklist), exit_criteria=tuple(criteria),
                 tasks_on_entry=tuple(tasks))


def _tasks_from_list(raw: object, path: str, label: str, v: list[FieldViolation]) -> list[TaskTemplate]:
    """``[{title, role, due_in_days}, ...]``: role optional (the owner then), due_in_days 0 or more."""
    if not isinstance(raw, list):
        v.append(FieldViolation(path, f"{label}: must be a list of tasks"))
        return []
    tasks = []
    for j, item in enumerate(raw):
        where = f"{path}[{j}]"
        if not isinstance(item, dict) or set(item) - _TASK_KEYS:
            v.append(FieldViolation(where, f"{label}: a task is {{title, role, due_in_days}}"))
            continue
        title, role, days = item.get("title"), item.get("role", ""), item.get("due_in_days", 0)
        if not isinstance(title, str) or not title.strip():
            v.append(FieldViolation(f"{where}.title", f"{label}: required"))
        elif not isinstance(role, str):
            v.append(FieldViolation(f"{where}.role", f"{label}: a team role such as presales"))
        elif isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
            v.append(FieldViolation(f"{where}.due_in_days", f"{label}: a whole number of days from 0 to {MAX_DAYS}"))
        else:
            tasks.append(TaskTemplate(title=title.strip(), role=role.strip(), due_in_days=days))
    return tasks


def _checklist_from_dict(raw: object, path: str, label: str, v: list[FieldViolation]) -> list[ChecklistItem]:
    """``{role: [{key: ..., description: ...}, ...]}``."""
    if not isinstance(raw, dict):
        v.append(FieldViolation(path, f"{label}: must map each role to its list of items"))
        return []
    items: list[ChecklistItem] = []
    for role, role_items in raw.items():
        if not isinstance(role, str) or not role.strip() or not isinstance(role_items, list):
            v.append(FieldViolation(f"{path}.{role}", f"{label}: must be a role with a list of items"))
            continue
        for j, item in enumerate(role_items):
            if (not isinstance(item, dict) or set(item) - {"key", "description"}
                    or not isinstance(item.get("key"), str) or not _KEY.match(item["key"])):
                v.append(FieldViolation(f"{path}.{role}[{j}]", f"{label}: an item is {{key, description}} with a "
                                                               f"lower-case key"))
                continue
            items.append(ChecklistItem(key=item["key"], role=role, description=str(item.get("description", ""))))
    keys = [i.key for i in items]
    for dup in sorted({k for k in keys if keys.count(k) > 1}):
        v.append(FieldViolation(path, f"{label}: checklist item {dup!r} appears twice"))
    return items


def _check_order(stages: list[Stage], v: list[FieldViolation]) -> None:
    keys = [s.key for s in stages]
    for dup in sorted({k for k in keys if keys.count(k) > 1}):
        v.append(FieldViolation("stages", f"stage key {dup!r} appears twice"))
    categories = [s.category for s in stages]
    if OPEN not in categories:
        v.append(FieldViolation("stages", "at least one open stage is required"))
    for category in (WON, LOST):
        if categories.count(category) != 1:
            v.append(FieldViolation("stages", f"exactly one {category} stage is required"))
    first_closed = next((i for i, c in enumerate(categories) if c != OPEN), len(categories))
    if OPEN in categories[first_closed:]:
        v.append(FieldViolation("stages", "open stages come first, then the won and lost stages"))
    closed_items = [s.key for s in stages
                    if s.category != OPEN and (s.exit_criteria or s.checklist or s.tasks_on_entry)]
    if closed_items:
        v.append(FieldViolation("stages", f"stage {closed_items[0]!r}: won and lost stages have no checklist, "
                                          f"exit criteria or tasks on entry"))


def pipeline_to_dict(p: Pipeline) -> dict:
    """The dict form ``pipeline_from_dict`` reads (stored as one JSON document per version)."""
    def stage(s: Stage) -> dict:
        out: dict = {"key": s.key, "display_name": s.display_name, "category": s.category,
                     "probability": s.probability}
        if s.max_days is not None:
            out["max_days"] = s.max_days
        if s.checklist:
            roles: dict[str, list] = {}
            for item in s.checklist:
                roles.setdefault(item.role, []).append({"key": item.key, "description": item.description})
            out["checklist"] = roles
        if s.exit_criteria:
            out["exit_criteria"] = [gates.criterion_to_dict(c) for c in s.exit_criteria]
        if s.tasks_on_entry:
            out["tasks_on_entry"] = [{"title": t.title, "role": t.role, "due_in_days": t.due_in_days}
                                     for t in s.tasks_on_entry]
        return out

    return {"key": p.key, "display_name": p.display_name, "allows_skipping": p.allows_skipping,
            "lost_reasons": list(p.lost_reasons), "stages": [stage(s) for s in p.stages]}


def check_stage_mapping(old: Pipeline, new: Pipeline, mapping: dict[str, str]) -> dict[str, str]:
    """A migration's stage mapping (old stage key -> new stage key), or INVALID_ARGUMENT naming every entry whose
    stage does not exist in its version or that maps across categories (an open deal does not become won)."""
    if not mapping:
        raise InvalidArgument.field("stage_mapping", "required: at least one old stage -> new stage")
    v = []
    for old_key, new_key in sorted(mapping.items()):
        where = f"stage_mapping[{old_key}]"
        before, after = old.find(old_key), new.find(new_key)
        if before is None:
            v.append(FieldViolation(where, f"unknown stage {old_key!r} in pipeline {old.key} version {old.version}; "
                                           f"stages: {', '.join(s.key for s in old.stages)}"))
        if after is None:
            v.append(FieldViolation(where, f"unknown stage {new_key!r} in pipeline {new.key} version {new.version}; "
                                           f"stages: {', '.join(s.key for s in new.stages)}"))
        if before is not None and after is not None and before.category != after.category:
            v.append(FieldViolation(where, f"{old_key} is {before.category} but {new_key} is {after.category}"))
    if v:
        raise InvalidArgument(v)
    return dict(mapping)
