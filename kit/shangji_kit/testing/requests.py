"""Requests generated from the proto descriptors, for the fuzz suite and the authorisation matrix.

``unary_methods()`` lists every unary RPC of the six services; ``requests(descriptor, names)`` is a
hypothesis strategy of hostile requests of that type: random and hostile strings (NUL, huge, every
plane of unicode, numbers that are not, dates that are not), bogus and real resource names, random
field masks, extreme integers, enums beyond their values, non-finite doubles, extreme timestamps and
durations, repeated fields empty, small or over the limit. ``count_rows`` and ``Method.call`` are the
parts a test needs around them.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import grpc
import sqlalchemy as sa
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

from shangji_kit import settings

F = FieldDescriptor
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
MAX_DEPTH = 3

COLLECTIONS = ("leads", "customers", "campaigns", "opportunities", "pipelines", "users", "departments",
               "sampleRequests", "products", "notifications", "erpOrders", "teamTemplates", "tasks")


@dataclass(frozen=True)
class Method:
    service: str            # "leads"
    descriptor: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.descriptor.containing_service.full_name}/{self.descriptor.name}"

    @property
    def request_class(self) -> type[Message]:
        return GetMessageClass(self.descriptor.input_type)

    def call(self, channel: grpc.Channel, request: Message, token: str, timeout: float = 15.0):
        stub = channel.unary_unary(self.path, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=GetMessageClass(self.descriptor.output_type).FromString)
        return stub(request, metadata=[("authorization", f"Bearer {token}")], timeout=timeout)

    def stream(self, channel: grpc.Channel, request: Message, token: str, timeout: float = 15.0
               ) -> Iterator[Message]:
        """The responses of a server-streaming method, as they come."""
        stub = channel.unary_stream(self.path, request_serializer=lambda m: m.SerializeToString(),
                                    response_deserializer=GetMessageClass(self.descriptor.output_type).FromString)
        return stub(request, metadata=[("authorization", f"Bearer {token}")], timeout=timeout)

    def __str__(self) -> str:
        return f"{self.service}.{self.descriptor.name}"


def _methods(services: Sequence[str], server_streaming: bool) -> list[Method]:
    out = []
    for service in services:
        module = importlib.import_module(f"shangji.{service}.v1.{service}_pb2")
        for svc in module.DESCRIPTOR.services_by_name.values():
            out += [Method(service, m) for m in svc.methods
                    if not m.client_streaming and m.server_streaming == server_streaming]
    return out


# What no request, however hostile, may get: a crash (INTERNAL, UNKNOWN), a status too big for its headers
# (RESOURCE_EXHAUSTED), DATA_LOSS, or UNIMPLEMENTED for a method the contract promises.
NEVER = frozenset({grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS,
                   grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNIMPLEMENTED})


def unary_methods(services: Sequence[str] = settings.SERVICES) -> list[Method]:
    return _methods(services, False)


def export_methods(services: Sequence[str] = settings.SERVICES) -> list[Method]:
    """The server-streaming methods that answer with a file's chunks (``ExportChunk``): they end by themselves,
    unlike a live stream (notify's StreamNotifications)."""
    return [m for m in _methods(services, True) if m.descriptor.output_type.name == "ExportChunk"]


# --- values ----------------------------------------------------------------------------------------

def _names(real: Sequence[str]) -> st.SearchStrategy[str]:
    bogus = st.sampled_from([
        "", "/", "leads/", "leads//x", "leads/../users/x", "users/' OR '1'='1", "opportunities/x/team",
        "opportunities/%s%n", "customers/\u202e", "departments/root", "x" * 300, "users/" + "9" * 40,
    ])
    made = st.builds(lambda c, u, tail: f"{c}/{u}{tail}", st.sampled_from(COLLECTIONS),
                     st.uuids().map(str), st.sampled_from(["", "", "/team", "/documents/x", "/tasks/1"]))
    options = [bogus, made]
    if real:
        options.append(st.sampled_from(list(real)))
    return st.one_of(*options)


_NUMBERS = st.sampled_from(["1e309", "NaN", "-Infinity", "inf", "-1", "1" * 40, "0.0000000001",
                            "12,000", " 12 ", "1e-400", "99999999999999999.99", "-0"])
_DATES = st.sampled_from(["2026-02-30", "0000-01-01", "9999-12-31", "2026-1-1", "1969-12-31", "tomorrow",
                          "2026-12-31T00:00:00Z"])
_PLAIN = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def _strings(real: Sequence[str]) -> st.SearchStrategy[str]:
    """Mostly plausible values (so calls get past the front into the services), one in four hostile."""
    plausible = st.one_of(
        st.text(alphabet=_PLAIN, max_size=20),
        _names(real),
        st.sampled_from(["0", "1", "12000.00", "3.5", "2027-01-31", "2026-12-01", "CNY", "USD", "visit",
                         "discover", "admin", "sales_rep", "华东精密机械有限公司", "王伟", "13800138000",
                         "wang@example.com", "cnc", "展会", "title", "amount"]),
    )
    hostile = st.one_of(
        st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=("Cs",)),
                max_size=40),
        st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=5), st.text(max_size=5)),
        st.integers(190, 12_000).map(lambda n: "长" * n),
        st.just("x" * 70_000),  # over every limit; a megabyte value is tests/test_request_limits.py's
        _NUMBERS, _DATES,
        st.sampled_from(["'; DROP TABLE leads; --", "<script>", "{{7*7}}", "${jndi:x}", "\n", " ", "null"]),
    )
    return st.one_of(plausible, plausible, plausible, hostile)


def _timestamp(cls: type[Message]) -> st.SearchStrategy[Message]:
    plausible = st.integers(1_700_000_000, 1_900_000_000)
    seconds = st.one_of(plausible, plausible, plausible, st.integers(-(2**40), 2**40),
                        st.sampled_from([-62135596800, -1, 0, 253402300799, 253402300800, 7258118400, 2**40]))
    nanos = st.one_of(st.just(0), st.integers(0, 999_999_999), st.integers(-(2**31), 2**31 - 1))
    return st.builds(lambda s, n: cls(seconds=s, nanos=n), seconds, nanos)


def _field_mask(cls: type[Message], paths: Sequence[str]) -> st.SearchStrategy[Message]:
    path = st.one_of(st.sampled_from(list(paths) or ["x"]), st.text(max_size=20), st.just("*"))
    return st.lists(path, max_size=5).map(lambda ps: cls(paths=ps))


def _scalar(field: F, real: Sequence[str], depth: int, mask_paths: Sequence[str]) -> st.SearchStrategy | None:
    t = field.type
    if t == F.TYPE_STRING:
        return _strings(real)
    if t == F.TYPE_BYTES:
        return st.binary(max_size=64)
    if t == F.TYPE_BOOL:
        return st.booleans()
    if t in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
        return st.one_of(st.sampled_from([0, 1, -1, *INT32]), st.integers(*INT32))
    if t in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64):
        return st.one_of(st.sampled_from([0, 1, -1, *INT64]), st.integers(*INT64))
    if t in (F.TYPE_UINT32, F.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if t in (F.TYPE_UINT64, F.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    if t in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=64 if t == F.TYPE_DOUBLE else 32)
    if t == F.TYPE_ENUM:
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), st.integers(-3, 1000))
    if t == F.TYPE_MESSAGE:
        name = field.message_type.full_name
        cls = GetMessageClass(field.message_type)
        if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
            return _timestamp(cls)
        if name == "google.protobuf.FieldMask":
            return _field_mask(cls, mask_paths)
        if depth >= MAX_DEPTH:
            return st.just(cls())
        return requests(field.message_type, real, depth + 1)
    return None


def _value(field: F, real: Sequence[str], depth: int, mask_paths: Sequence[str]) -> st.SearchStrategy | None:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key = _scalar(field.message_type.fields_by_name["key"], real, depth, mask_paths)
        value = _scalar(field.message_type.fields_by_name["value"], real, depth, mask_paths)
        return st.dictionaries(key, value, max_size=3)
    single = _scalar(field, real, depth, mask_paths)
    if single is None or not field.is_repeated:
        return single
    # Over the repeated limit with the smallest item (a large item a thousand times is gigabytes).
    small = {F.TYPE_STRING: "x", F.TYPE_BYTES: b"x", F.TYPE_BOOL: True, F.TYPE_DOUBLE: 1.0, F.TYPE_FLOAT: 1.0}
    item = GetMessageClass(field.message_type)() if field.type == F.TYPE_MESSAGE else small.get(field.type, 1)
    return st.one_of(st.lists(single, max_size=3), st.just([item] * 1001))


def _build(cls: type[Message], values: dict) -> Message:
    message = cls()
    for name, value in values.items():
        field = cls.DESCRIPTOR.fields_by_name[name]
        target = getattr(message, name) if field.is_repeated or field.type == F.TYPE_MESSAGE else None
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for k, v in value.items():
                if value_field.type == F.TYPE_MESSAGE:
                    target[k].CopyFrom(v)
                else:
                    target[k] = v
        elif field.is_repeated:
            if field.type == F.TYPE_MESSAGE:
                for v in value:
                    target.add().CopyFrom(v)
            else:
                target.extend(value)
        elif field.type == F.TYPE_MESSAGE:
            target.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def requests(descriptor: Descriptor, real_names: Sequence[str] = (), depth: int = 0) -> st.SearchStrategy[Message]:
    """Hostile messages of ``descriptor``'s type; any subset of fields set."""
    cls = GetMessageClass(descriptor)
    mask_paths = [f.name for f in descriptor.fields] + [
        f"{f.name}.{g.name}" for f in descriptor.fields if f.message_type is not None
        for g in f.message_type.fields]
    optional = {}
    for field in descriptor.fields:
        value = _value(field, real_names, depth, mask_paths)
        if value is not None:
            optional[field.name] = value
    return st.fixed_dictionaries({}, optional=optional).map(lambda values: _build(cls, values))


# --- what a call wrote ---------------------------------------------------------------------------------

def _counts_statement(conn: sa.Connection) -> sa.TextClause:
    tables = [r[0] for r in conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version' "
        "ORDER BY tablename"))]
    return sa.text(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables))


class RowCounts:
    """Rows per table of one service database (all tables but Alembic's), read in one statement."""

    def __init__(self, service: str) -> None:
        self.engine = sa.create_engine(settings.database_url(service), pool_size=1, max_overflow=0)
        with self.engine.connect() as conn:
            self.statement = _counts_statement(conn)

    def __call__(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(conn.execute(self.statement).all())

    def close(self) -> None:
        self.engine.dispose()


def missing_name(name: str) -> str:
    """A name of the same shape as ``name`` (``opportunities/{id}/team``) that names nothing."""
    parts = name.split("/")
    parts[1] = str(uuid.uuid4())
    return "/".join(parts)
