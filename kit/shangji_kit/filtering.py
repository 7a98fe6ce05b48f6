"""List filters (AIP-160, a documented subset) compiled to SQLAlchemy clauses over an allow-list of fields.

The subset every service accepts:

- a comparison ``field op value``, ``op`` one of ``= != < <= > >=``; ``value`` a "double-quoted string"
  (``\\"`` and ``\\\\`` escape), a number, ``true``/``false`` or a bare word (an enum value such as ``ACTIVE``);
- ``AND``, ``OR``, ``NOT`` and parentheses; as in AIP-160, ``OR`` binds tighter than ``AND``
  (``a AND b OR c`` is ``a AND (b OR c)``), and terms side by side are joined by ``AND``.

Each list names the fields it allows and what each compiles to (``Fields``); a field not in the list, an
operator the field does not take, a value of the wrong type or a malformed expression is INVALID_ARGUMENT
on ``filter``, with the reason. Parsing touches no database: the use case parses, the repository compiles.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from shangji_kit.errors import InvalidArgument

MAX_FILTER_LENGTH = 2000
EQUALITY = frozenset({"=", "!="})
ORDERED = frozenset({"=", "!=", "<", "<=", ">", ">="})


def bad_filter(reason: str) -> InvalidArgument:
    return InvalidArgument.field("filter", reason)


# --- the expression ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    """A value as written: its text, and whether it was quoted (``"true"`` is a string, ``true`` is not)."""

    text: str
    quoted: bool


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str
    value: Literal


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Comparison | All | Any_ | Not


@dataclass(frozen=True)
class Filter:
    """A parsed filter; ``root`` None when the filter was empty (everything passes)."""

    text: str
    root: Node | None

    def fields(self) -> set[str]:
        found: set[str] = set()

        def walk(node: Node) -> None:
            if isinstance(node, Comparison):
                found.add(node.field)
            elif isinstance(node, Not):
                walk(node.part)
            else:
                for p in node.parts:
                    walk(p)

        if self.root is not None:
            walk(self.root)
        return found

    def values_of(self, field: str) -> list[Literal]:
        """The values compared with ``field`` anywhere in the filter (the search terms, for ranking)."""
        out: list[Literal] = []

        def walk(node: Node) -> None:
            if isinstance(node, Comparison):
                if node.field == field:
                    out.append(node.value)
            elif isinstance(node, Not):
                walk(node.part)
            else:
                for p in node.parts:
                    walk(p)

        if self.root is not None:
            walk(self.root)
        return out


_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<paren>[()])
    | (?P<word>[^\s()"=<>!]+)
    )""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise bad_filter(f"unexpected character at position {pos}: {text[pos:pos + 10]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise bad_filter("unexpected end of filter")
        self.i += 1
        return token

    def expression(self) -> Node:
        parts = [self.factor()]
        while True:
            token = self.peek()
            if token is None or token == ("paren", ")"):
                break
            if token == ("word", "AND"):
                self.i += 1
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def factor(self) -> Node:
        parts = [self.term()]
        while self.peek() == ("word", "OR"):
            self.i += 1
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Any_(tuple(parts))

    def term(self) -> Node:
        if self.peek() == ("word", "NOT"):
            self.i += 1
            return Not(self.simple())
        return self.simple()

    def simple(self) -> Node:
        kind, text = self.take()
        if (kind, text) == ("paren", "("):
            node = self.expression()
            if self.take() != ("paren", ")"):
                raise bad_filter("missing ')'")
            return node
        if kind != "word" or text in ("AND", "OR", "NOT"):
            raise bad_filter(f"expected a field name, found {text!r}")
        op_kind, op = self.take()
        if op_kind != "op":
            raise bad_filter(f"expected a comparison operator after {text!r}, found {op!r}")
        value_kind, value = self.take()
        if value_kind == "string":
            return Comparison(text, op, Literal(re.sub(r"\\(.)", r"\1", value[1:-1]), quoted=True))
        if value_kind != "word" or value in ("AND", "OR", "NOT"):
            raise bad_filter(f"expected a value after {text} {op}, found {value!r}")
        return Comparison(text, op, Literal(value, quoted=False))


def parse_filter(text: str) -> Filter:
    """Parse ``text``; INVALID_ARGUMENT on ``filter`` when malformed. Field names are checked on compiling."""
    if len(text) > MAX_FILTER_LENGTH:
        raise bad_filter(f"longer than {MAX_FILTER_LENGTH} characters")
    tokens = _tokens(text)
    if not tokens:
        return Filter(text, None)
    parser = _Parser(tokens)
    root = parser.expression()
    if parser.peek() is not None:
        raise bad_filter(f"unexpected {parser.peek()[1]!r}")
    return Filter(text, root)


# --- values ------------------------------------------------------------------------------------

Convert = Callable[[Literal], Any]


def text_value(lit: Literal) -> str:
    return lit.text


def decimal_value(lit: Literal) -> Decimal:
    try:
        value = Decimal(lit.text)
    except InvalidOperation as exc:
        raise ValueError("a number") from exc
    if not value.is_finite():
        raise ValueError("a finite number")
    return value


def integer_value(lit: Literal) -> int:
    if lit.quoted or not re.fullmatch(r"-?\d{1,9}", lit.text):
        raise ValueError("a whole number")
    return int(lit.text)


def date_value(lit: Literal) -> date:
    try:
        return date.fromisoformat(lit.text)
    except ValueError as exc:
        raise ValueError('a date "YYYY-MM-DD"') from exc


def time_value(lit: Literal) -> datetime:
    try:
        value = datetime.fromisoformat(lit.text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError('an RFC 3339 time such as "2026-12-01T00:00:00Z"') from exc
    if value.tzinfo is None:
        raise ValueError("a time with its offset (Z or +08:00)")
    return value


def bool_value(lit: Literal) -> bool:
    if lit.quoted or lit.text not in ("true", "false"):
        raise ValueError("true or false")
    return lit.text == "true"


def choice_value(choices: Mapping[str, Any]) -> Convert:
    """An enum word (``ACTIVE``) or its lower-case form, to the stored value."""
    def convert(lit: Literal) -> Any:
        key = lit.text.upper()
        if key not in choices:
            raise ValueError("one of " + ", ".join(sorted(choices)))
        return choices[key]
    return convert


def resource_id_value(collection: str) -> Convert:
    """``collection/{uuid}`` (or the bare uuid) to the uuid text."""
    def convert(lit: Literal) -> str:
        text = lit.text.removeprefix(collection + "/")
        try:
            return str(uuid.UUID(text))
        except ValueError as exc:
            raise ValueError(f'"{collection}/{{id}}"') from exc
    return convert


# --- fields ------------------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[Any, Any], sa.ColumnElement[bool]]] = {
    "=": lambda c, v: c == v, "!=": lambda c, v: c != v, "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v, ">": lambda c, v: c > v, ">=": lambda c, v: c >= v,
}


@dataclass(frozen=True)
class Column:
    """Compares a column (or expression) with the converted value."""

    column: Any
    convert: Convert = text_value
    ops: frozenset[str] = EQUALITY

    def clause(self, name: str, op: str, lit: Literal) -> sa.ColumnElement[bool]:
        value = _converted(self.convert, name, lit)
        if op == "!=" :
            # A NULL column differs from every value: "region != east" keeps the rows without a region.
            return sa.or_(self.column != value, self.column.is_(None))
        return _COMPARE[op](self.column, value)


@dataclass(frozen=True)
class Flag:
    """A yes/no condition: ``overdue = true`` is the clause, ``overdue = false`` its negation."""

    condition: Callable[[], sa.ColumnElement[bool]]
    ops: frozenset[str] = EQUALITY

    def clause(self, name: str, op: str, lit: Literal) -> sa.ColumnElement[bool]:
        wanted = _converted(bool_value, name, lit) == (op == "=")
        cond = self.condition()
        return cond if wanted else sa.not_(cond)


@dataclass(frozen=True)
class Predicate:
    """Anything else: the list's own rule, given the converted value and the operator."""

    build: Callable[[str, Any], sa.ColumnElement[bool]]
    convert: Convert = text_value
    ops: frozenset[str] = EQUALITY

    def clause(self, name: str, op: str, lit: Literal) -> sa.ColumnElement[bool]:
        return self.build(op, _converted(self.convert, name, lit))


FieldSpec = Column | Flag | Predicate
Fields = Mapping[str, FieldSpec]


def _converted(convert: Convert, name: str, lit: Literal) -> Any:
    try:
        return convert(lit)
    except ValueError as exc:
        raise bad_filter(f"{name}: expected {exc}, found {lit.text!r}") from exc


def check_fields(flt: Filter, fields: Fields | set[str] | frozenset[str]) -> None:
    """INVALID_ARGUMENT on ``filter`` naming every field the list does not allow."""
    unknown = sorted(flt.fields() - set(fields))
    if unknown:
        raise bad_filter(f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(fields))}")


def compile_filter(flt: Filter, fields: Fields) -> sa.ColumnElement[bool]:
    """The WHERE clause of ``flt`` over ``fields``; INVALID_ARGUMENT on ``filter`` for what they do not allow."""
    check_fields(flt, fields)
    if flt.root is None:
        return sa.true()

    def build(node: Node) -> sa.ColumnElement[bool]:
        if isinstance(node, Comparison):
            spec = fields[node.field]
            if node.op not in spec.ops:
                raise bad_filter(f"{node.field} does not take {node.op} (only {' '.join(sorted(spec.ops))})")
            return spec.clause(node.field, node.op, node.value)
        if isinstance(node, Not):
            return sa.not_(build(node.part))
        if isinstance(node, All):
            return sa.and_(*(build(p) for p in node.parts))
        return sa.or_(*(build(p) for p in node.parts))

    return build(flt.root)
