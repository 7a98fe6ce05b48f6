"""Limits on every request, defined once per field kind and checked in the front before service code.

A field's kind comes from ``FIELD_KINDS`` (by field name), ``MESSAGE_FIELD_KINDS`` (by message and
field, where a name means different things) or, failing both, ``DEFAULT`` (a short string). What the
front checks, for every request message and every message of a client stream:

- every string: no NUL byte (but in an imported table's cells: that row's rejection, ``table_import``),
  at most its kind's length (characters); the lengths are backstops above
  the domains' own limits, so a domain still names all of its bad fields in one answer;
- decimal strings (money, cost, difficulty): 64 characters (their value is the domain's rule);
- dates: "" or shaped YYYY-MM-DD (the domain says whether it is a day it accepts);
- Timestamps: nanos in range and seconds within +-2**40 (a backstop; the domains decide which times
  they accept, reported with the other bad fields);
  Durations within a century;
- repeated fields and maps: at most their kind's count (``REPEATED_LIMITS``, else 1000); field masks
  at most 64 paths;
- bytes: at most 1 MiB.

Bad input is one InvalidArgument naming EVERY bad field by its full path
(``opportunity.quote_lines[2].unit_price``) and quoting a value only up to ``QUOTE_CHARS``.
Service-specific rules (a currency code, a probability in 0..100) stay in each domain; these limits
only keep what no domain would accept from reaching it. A validator per message type is built once
from its descriptor and cached.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from shangji_kit.errors import FieldViolation, InvalidArgument

QUOTE_CHARS = 64
MAX_VIOLATIONS = 50

# Timestamps: a backstop far outside any date (about +-34,000 years); the domains say which times they
# accept (leads, samples and opportunities refuse years outside datetime's, with the other bad fields).
TIMESTAMP_MIN_SECONDS = -(2**40)
TIMESTAMP_MAX_SECONDS = 2**40
DURATION_MAX_SECONDS = 100 * 366 * 86400
BYTES_MAX = 1 << 20
REPEATED_DEFAULT = 1000
FIELD_MASK_PATHS_MAX = 64


def quote(value: object) -> str:
    """A value as an error may show it: at most QUOTE_CHARS characters, NULs and line breaks escaped."""
    text = str(value)
    short = text[:QUOTE_CHARS].replace("\x00", "\\0").replace("\n", "\\n")
    return repr(short) + (f"... ({len(text)} characters)" if len(text) > QUOTE_CHARS else "")


@dataclass(frozen=True)
class Kind:
    """What a string field holds: its longest allowed value and an extra check (None when fine)."""

    name: str
    max_chars: int
    check: Callable[[str], str | None] | None = None
    # A NUL passes to the service, which rejects it with its own rules (an import rejects the row only).
    nul_allowed: bool = False


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_check(text: str) -> str | None:
    """The shape only: whether it is a real day (and a sensible one) is the domain's rule, reported with
    the request's other bad fields."""
    if text and not _DATE.fullmatch(text):
        return f"must be a date YYYY-MM-DD, got {quote(text)}"
    return None


# Backstops: above every domain's own limits (names 200 there), so a domain still reports all of its
# fields; these stop what no domain should see (a megabyte phone, a NUL, a number no column holds).
NAME = Kind("name", 1000)               # names, titles, companies, people
TEXT = Kind("text", 20_000)             # free text: notes, descriptions, answers, reasons
PHONE = Kind("phone", 64)
EMAIL = Kind("email", 320)
RESOURCE = Kind("resource", 500)        # resource names and ids: "leads/<uuid>"
REQUEST_ID = Kind("request_id", 20_000)  # the kit's RequestKey refuses over 100, with the other fields
TOKEN = Kind("token", 4096)             # page tokens, etags, filters
URI = Kind("uri", 4096)
# Decimal strings: their value (finite, the column's precision) is the domain's rule, reported with the
# request's other bad fields (opportunities.domain.model, leads' campaigns, samples); the fuzz suite's
# tests/fuzz/test_decimals.py sends NaN, 1e309 ... into every one of them.
MONEY = Kind("money", 64)               # numeric(18, 2)
COST = Kind("cost", 64)                 # numeric(18, 4)
DIFFICULTY = Kind("difficulty", 64)     # numeric(8, 3)
DATE = Kind("date", 10, _date_check)
DEFAULT = Kind("short", 1000)           # codes, keys, tags, enumerations as text
# A cell of an imported table (shangji_kit.table_import): a NUL or an over-long value is that row's
# rejection, not the whole file's; the length is a backstop above every column's own limit.
CELL = Kind("cell", 20_000, nul_allowed=True)

FIELD_KINDS: dict[str, Kind] = {
    **dict.fromkeys((
        "display_name", "title", "company", "customer_company", "contact_name", "contact_title", "recipient_name",
        "file_name", "opportunity_title", "competitor", "lost_competitor", "industry", "region", "courier",
        "company_size", "stage_display_name", "tracking_number", "erp_order_number", "cost_centre",
        "competitors_beaten", "lost_reasons", "return_reasons", "product_lines", "expertise", "territories",
        "function_tags", "territory"), NAME),
    **dict.fromkeys((
        "note", "notes", "description", "comment", "detail", "summary", "text", "answer", "purpose", "address",
        "reason", "lost_reason", "probability_note", "resolution", "erp_order_error", "attitude"), TEXT),
    **dict.fromkeys(("phone", "contact_phone", "recipient_phone"), PHONE),
    **dict.fromkeys(("email", "contact_email"), EMAIL),
    **dict.fromkeys((
        "name", "names", "parent", "owner", "customer", "opportunity", "opportunities", "lead", "user", "department",
        "head", "manager", "successor", "assignee", "approver", "registrant", "requester", "from_user", "to_user",
        "team", "template", "pipeline", "product", "document", "campaign", "duplicate_of", "collides_with",
        "creator", "author", "raised_by", "completed_by", "placed_under", "holder", "id"), RESOURCE),
    "request_id": REQUEST_ID,
    **dict.fromkeys(("page_token", "etag", "filter", "order_by"), TOKEN),
    "uri": URI,
    **dict.fromkeys(("amount", "won_amount", "unit_price", "cost", "threshold", "big_deal_threshold", "amount_min",
                     "amount_max", "cost_per_lead"), MONEY),
    **dict.fromkeys(("unit_cost", "estimated_cost", "max_estimated_cost"), COST),
    "difficulty": DIFFICULTY,
    **dict.fromkeys(("due_date", "start_date", "end_date", "expected_close_date", "win_date", "wanted_by_date"),
                    DATE),
}

# (message full name, field name) -> kind, where a field name means something else in one message.
MESSAGE_FIELD_KINDS: dict[tuple[str, str], Kind] = {
    ("shangji.opportunities.v1.QuoteLine", "quantity"): COST,
    ("shangji.leads.v1.ImportRow", "values"): CELL,
    ("shangji.opportunities.v1.ImportRow", "values"): CELL,
}

# Most items a repeated field or map may carry, by field name (others: REPEATED_DEFAULT).
REPEATED_LIMITS: dict[str, int] = {"rows": 5000, "values": 1000, "paths": FIELD_MASK_PATHS_MAX}


def kind_of(message: Descriptor, field: FieldDescriptor) -> Kind:
    return MESSAGE_FIELD_KINDS.get((message.full_name, field.name)) or FIELD_KINDS.get(field.name, DEFAULT)


# --- validators built from descriptors ----------------------------------------------------------------

Check = Callable[[object, str, list[FieldViolation]], None]


def _string_check(kind: Kind) -> Check:
    def check(value, path, out):
        if "\x00" in value and not kind.nul_allowed:
            out.append(FieldViolation(path, "must not contain a NUL character"))
        elif len(value) > kind.max_chars:
            out.append(FieldViolation(path, f"is {len(value)} characters long; at most {kind.max_chars} allowed "
                                            f"({kind.name})"))
        elif kind.check is not None:
            problem = kind.check(value)
            if problem:
                out.append(FieldViolation(path, problem))
    return check


def _bytes_check(value, path, out):
    if len(value) > BYTES_MAX:
        out.append(FieldViolation(path, f"is {len(value)} bytes; at most {BYTES_MAX} allowed"))


def _float_check(value, path, out):
    if value != value or value in (float("inf"), float("-inf")):
        out.append(FieldViolation(path, "must be a finite number"))


def _timestamp_check(value, path, out):
    if not TIMESTAMP_MIN_SECONDS <= value.seconds < TIMESTAMP_MAX_SECONDS or not 0 <= value.nanos < 1_000_000_000:
        out.append(FieldViolation(path, "is no time at all (seconds or nanos out of any range)"))


def _duration_check(value, path, out):
    if abs(value.seconds) > DURATION_MAX_SECONDS or abs(value.nanos) >= 1_000_000_000:
        out.append(FieldViolation(path, "must be within a hundred years"))


def _field_mask_check(value, path, out):
    paths = value.paths
    if len(paths) > FIELD_MASK_PATHS_MAX:
        out.append(FieldViolation(f"{path}.paths", f"has {len(paths)} paths; at most {FIELD_MASK_PATHS_MAX}"))
        return
    for i, p in enumerate(paths):
        if "\x00" in p or len(p) > 100:
            out.append(FieldViolation(f"{path}.paths[{i}]", f"is not a field path: {quote(p)}"))


_WELL_KNOWN = {
    "google.protobuf.Timestamp": _timestamp_check,
    "google.protobuf.Duration": _duration_check,
    "google.protobuf.FieldMask": _field_mask_check,
}


def _scalar_check(message: Descriptor, field: FieldDescriptor) -> Check | None:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return _string_check(kind_of(message, field))
    if t == FieldDescriptor.TYPE_BYTES:
        return _bytes_check
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return _float_check
    if t == FieldDescriptor.TYPE_MESSAGE:
        special = _WELL_KNOWN.get(field.message_type.full_name)
        if special is not None:
            return special
        return lambda value, path, out: _walk(value, path + ".", out)
    return None  # ints, bools, enums: proto bounds them; the domain checks their meaning


def _field_check(message: Descriptor, field: FieldDescriptor) -> Check | None:
    limit = REPEATED_LIMITS.get(field.name, REPEATED_DEFAULT)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key_check = _scalar_check(field.message_type, field.message_type.fields_by_name["key"])
        value_check = _scalar_check(field.message_type, field.message_type.fields_by_name["value"])

        def check_map(value, path, out):
            if len(value) > limit:
                out.append(FieldViolation(path, f"has {len(value)} entries; at most {limit} allowed"))
                return
            for k in value:
                at = f"{path}[{quote(k)}]"
                if key_check:
                    key_check(k, at, out)
                if value_check:
                    value_check(value[k], at, out)
        return check_map
    single = _scalar_check(message, field)
    if not field.is_repeated:
        return single

    def check_repeated(value, path, out):
        if len(value) > limit:
            out.append(FieldViolation(path, f"has {len(value)} items; at most {limit} allowed"))
            return
        if single is not None:
            for i, item in enumerate(value):
                single(item, f"{path}[{i}]", out)
    return check_repeated


@functools.cache
def _checks(message: Descriptor) -> dict[int, Check]:
    """The checks of one message type by field number (built once per type; fields that need none left out)."""
    checks = {}
    for field in message.fields:
        check = _field_check(message, field)
        if check is not None:
            checks[field.number] = check
    return checks


def _walk(message: Message, prefix: str, out: list[FieldViolation]) -> None:
    checks = _checks(message.DESCRIPTOR)
    if not checks:
        return
    # ListFields: only the fields that are set, from the C implementation; an empty request costs nothing.
    for field, value in message.ListFields():
        check = checks.get(field.number)
        if check is not None:
            check(value, prefix + field.name, out)


def violations(message: Message) -> list[FieldViolation]:
    out: list[FieldViolation] = []
    _walk(message, "", out)
    return out


def check_request(message: Message) -> None:
    """Raise InvalidArgument naming every field of ``message`` beyond the limits (nothing when fine)."""
    found = violations(message)
    if found:
        if len(found) > MAX_VIOLATIONS:
            found = [*found[:MAX_VIOLATIONS],
                     FieldViolation("*", f"{len(found) - MAX_VIOLATIONS} more fields are invalid")]
        raise InvalidArgument(found, reason="REQUEST_LIMITS")


def iter_checked(messages: Iterator[Message]) -> Iterator[Message]:
    """A client stream whose every message is checked as it arrives."""
    for message in messages:
        check_request(message)
        yield message
