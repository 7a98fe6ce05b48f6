"""Stage gates: exit criteria as data, and the evaluator that lists every criterion a deal does not meet.

Plain Python: no database, no protos. A criterion is a small tree (``all_of`` / ``any_of`` over leaves); the
evidence is what is known of one deal when it asks to move on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

REQUIRED_FIELDS = "required_fields"
CHECKLIST_COMPLETED = "checklist_completed"
DECISION_MAKER_IDENTIFIED = "decision_maker_identified"
REQUIREMENTS_ANSWERED = "requirements_answered"
DOCUMENT_PRESENT = "document_present"
SAMPLE_APPROVED = "sample_approved"
SAMPLE_DELIVERED = "sample_delivered"
AMOUNT_POSITIVE = "amount_positive"
ALL_OF = "all_of"
ANY_OF = "any_of"

LEAF_KINDS = (REQUIRED_FIELDS, CHECKLIST_COMPLETED, DECISION_MAKER_IDENTIFIED, REQUIREMENTS_ANSWERED,
              DOCUMENT_PRESENT, SAMPLE_APPROVED, SAMPLE_DELIVERED, AMOUNT_POSITIVE)
# The kinds that read a deal's collections (decision chain, requirements, documents, samples) rather than its row.
COLLECTION_KINDS = frozenset((DECISION_MAKER_IDENTIFIED, REQUIREMENTS_ANSWERED, DOCUMENT_PRESENT, SAMPLE_APPROVED,
                              SAMPLE_DELIVERED))
COMBINATORS = (ALL_OF, ANY_OF)
KINDS = LEAF_KINDS + COMBINATORS

# The opportunity fields a ``required_fields`` criterion may name.
GATED_FIELDS = ("title", "customer_company", "contact_name", "contact_phone", "contact_email", "region", "source",
                "amount", "currency", "expected_close_date", "product_lines")


@dataclass(frozen=True)
class Criterion:
    """One exit criterion. Which attributes matter depends on ``kind``:
    ``fields`` (required_fields), ``items`` (checklist_completed), ``document`` (document_present),
    ``criteria`` (all_of, any_of)."""

    kind: str
    fields: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    document: str = ""
    criteria: tuple[Criterion, ...] = ()


@dataclass(frozen=True)
class Evidence:
    """What is known of a deal when a gate is checked.

    ``values``: the deal's fields by name (a missing, empty or None value is "not filled in").
    ``checklist``: the completed checklist item keys. ``checklist_labels``: item key -> description, for messages.
    """

    values: dict[str, object] = field(default_factory=dict)
    checklist: frozenset[str] = frozenset()
    checklist_labels: dict[str, str] = field(default_factory=dict)
    decision_makers: int = 0
    requirements_total: int = 0
    requirements_answered: int = 0
    documents: frozenset[str] = frozenset()
    approved_samples: int = 0
    delivered_samples: int = 0


def reads_collections(criteria: Iterable[Criterion]) -> bool:
    """Whether evaluating ``criteria`` needs the deal's collections (so a gate without them costs no query)."""
    return any(c.kind in COLLECTION_KINDS or reads_collections(c.criteria) for c in criteria)


@dataclass(frozen=True)
class Unmet:
    """One criterion not met: its kind (the PreconditionFailure violation type) and what is missing, in words."""

    kind: str
    description: str


def _filled(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return bool(value)
    return True


def evaluate(criteria: Iterable[Criterion], evidence: Evidence) -> list[Unmet]:
    """Every unmet criterion of ``criteria`` (all of which must hold), in order; [] when the gate opens."""
    unmet: list[Unmet] = []
    for criterion in criteria:
        unmet.extend(_evaluate(criterion, evidence))
    return unmet


def _evaluate(c: Criterion, e: Evidence) -> list[Unmet]:
    if c.kind == REQUIRED_FIELDS:
        return [Unmet(REQUIRED_FIELDS, f"{name} is required") for name in c.fields if not _filled(e.values.get(name))]
    if c.kind == CHECKLIST_COMPLETED:
        return [Unmet(CHECKLIST_COMPLETED, f"checklist item {_label(item, e)} is not completed")
                for item in c.items if item not in e.checklist]
    if c.kind == DECISION_MAKER_IDENTIFIED:
        return [] if e.decision_makers > 0 else [
            Unmet(DECISION_MAKER_IDENTIFIED, "no decision maker is identified on the deal")]
    if c.kind == REQUIREMENTS_ANSWERED:
        if e.requirements_total == 0:
            return [Unmet(REQUIREMENTS_ANSWERED, "no requirement items are recorded")]
        open_items = e.requirements_total - e.requirements_answered
        return [] if open_items <= 0 else [
            Unmet(REQUIREMENTS_ANSWERED, f"{open_items} of {e.requirements_total} requirement items are unanswered")]
    if c.kind == DOCUMENT_PRESENT:
        return [] if c.document in e.documents else [
            Unmet(DOCUMENT_PRESENT, f"document {c.document!r} is not attached")]
    if c.kind == SAMPLE_APPROVED:
        return [] if e.approved_samples > 0 else [Unmet(SAMPLE_APPROVED, "no sample request is approved")]
    if c.kind == SAMPLE_DELIVERED:
        return [] if e.delivered_samples > 0 else [Unmet(SAMPLE_DELIVERED, "no sample is delivered")]
    if c.kind == AMOUNT_POSITIVE:
        amount = e.values.get("amount")
        return [] if isinstance(amount, Decimal) and amount > 0 else [
            Unmet(AMOUNT_POSITIVE, "amount must be above zero")]
    if c.kind == ALL_OF:
        return evaluate(c.criteria, e)
    if c.kind == ANY_OF:
        branches = [_evaluate(child, e) for child in c.criteria]
        if not c.criteria or any(not b for b in branches):
            return []
        alternatives = " | ".join("; ".join(u.description for u in b) for b in branches)
        return [Unmet(ANY_OF, f"at least one of these must hold: {alternatives}")]
    raise ValueError(f"unknown criterion kind {c.kind!r}")  # the loader refuses these; a bug if reached


def _label(item: str, e: Evidence) -> str:
    label = e.checklist_labels.get(item)
    return f"{item!r} ({label})" if label else repr(item)


# --- criteria as data: the dict (YAML / JSON) form ----------------------------------------------------
# Each criterion is a mapping with one key, the kind:
#   {required_fields: [expected_close_date, amount]}   {checklist_completed: [needs_confirmed]}
#   {decision_maker_identified: true}   {requirements_answered: true}   {document_present: 方案书}
#   {sample_approved: true}   {sample_delivered: true}   {amount_positive: true}   {all_of: [...]}   {any_of: [...]}


class CriterionError(ValueError):
    """A criterion that cannot be loaded; ``path`` locates it inside its stage (``exit_criteria[1].any_of[0]``)."""

    def __init__(self, path: str, description: str) -> None:
        super().__init__(f"{path}: {description}")
        self.path = path
        self.description = description


def criterion_from_dict(data: object, path: str, checklist_keys: frozenset[str] | None = None) -> Criterion:
    """One criterion from its dict form; CriterionError naming the place and the problem otherwise."""
    if not isinstance(data, dict) or len(data) != 1:
        raise CriterionError(path, f"must be a mapping with exactly one key, the criterion kind (one of "
                                   f"{', '.join(KINDS)})")
    (kind, arg), = data.items()
    if kind not in KINDS:
        raise CriterionError(path, f"unknown criterion kind {kind!r}; known kinds: {', '.join(KINDS)}")
    if kind in (REQUIRED_FIELDS, CHECKLIST_COMPLETED):
        values = _strings(arg, f"{path}.{kind}")
        if kind == REQUIRED_FIELDS:
            unknown = [v for v in values if v not in GATED_FIELDS]
            if unknown:
                raise CriterionError(f"{path}.{kind}",
                                     f"unknown field {unknown[0]!r}; fields: {', '.join(GATED_FIELDS)}")
            return Criterion(kind, fields=values)
        if checklist_keys is not None:
            unknown = [v for v in values if v not in checklist_keys]
            if unknown:
                raise CriterionError(f"{path}.{kind}",
                                     f"checklist item {unknown[0]!r} is not in this stage's checklist")
        return Criterion(kind, items=values)
    if kind == DOCUMENT_PRESENT:
        if not isinstance(arg, str) or not arg.strip():
            raise CriterionError(f"{path}.{kind}", "must name the document")
        return Criterion(kind, document=arg.strip())
    if kind in COMBINATORS:
        if not isinstance(arg, list) or not arg:
            raise CriterionError(f"{path}.{kind}", "must be a non-empty list of criteria")
        return Criterion(kind, criteria=tuple(
            criterion_from_dict(child, f"{path}.{kind}[{i}]", checklist_keys) for i, child in enumerate(arg)))
    if arg is not True:
        raise CriterionError(f"{path}.{kind}", "takes no argument: write `true`")
    return Criterion(kind)


def criterion_to_dict(c: Criterion) -> dict:
    if c.kind == REQUIRED_FIELDS:
        return {c.kind: list(c.fields)}
    if c.kind == CHECKLIST_COMPLETED:
        return {c.kind: list(c.items)}
    if c.kind == DOCUMENT_PRESENT:
        return {c.kind: c.document}
    if c.kind in COMBINATORS:
        return {c.kind: [criterion_to_dict(child) for child in c.criteria]}
    return {c.kind: True}


def _strings(arg: object, path: str) -> tuple[str, ...]:
    if not isinstance(arg, list) or not arg or not all(isinstance(v, str) and v.strip() for v in arg):
        raise CriterionError(path, "must be a non-empty list of names")
    return tuple(v.strip() for v in arg)
