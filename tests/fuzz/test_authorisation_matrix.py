"""The authorisation matrix, generated from the descriptors: every unary RPC whose request names a record
(``name``, ``parent``, ``team``, a ``customer``/``opportunity``/``lead`` reference, or the ``name`` of the
message it carries), called by a rep outside the record's visibility with the name of another rep's lead,
customer or deal. The answer is NOT_FOUND or PERMISSION_DENIED, or exactly what the same call says of a
record that does not exist (a request refused before any record is looked at; a list filtered by the
record answers exactly as for none); nothing is written. A new RPC is covered without editing this file."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor

from shangji_kit.testing.requests import RowCounts, missing_name, unary_methods

REFERENCES = ("name", "parent", "team", "customer", "opportunity", "lead")
# On these verbs the carried message is new: its ``name`` is output only, not a reference.
CREATORS = ("Create", "Register", "Add", "Raise", "Upsert")
HIDDEN = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED}


def _paths(method) -> list[tuple[str, ...]]:
    descriptor = method.descriptor.input_type
    creates = method.descriptor.name.startswith(CREATORS)
    paths = []
    for f in descriptor.fields:
        if f.type == FieldDescriptor.TYPE_STRING and not f.is_repeated and f.name in REFERENCES:
            paths.append((f.name,))
        elif f.type == FieldDescriptor.TYPE_MESSAGE and not f.is_repeated \
                and not f.message_type.full_name.startswith("google."):
            paths += [(f.name, g.name) for g in f.message_type.fields
                      if g.type == FieldDescriptor.TYPE_STRING and not g.is_repeated and g.name in REFERENCES
                      and not (creates and g.name == "name")]
    return paths


CASES = [(m, p) for m in unary_methods() for p in _paths(m)]


def _request(method, path: tuple[str, ...], value: str):
    request = method.request_class()
    target = request
    for part in path[:-1]:
        target = getattr(target, part)
    setattr(target, path[-1], value)
    return request


def _answer(method, channel, request, token) -> tuple[grpc.StatusCode, bytes]:
    try:
        return grpc.StatusCode.OK, method.call(channel, request, token).SerializeToString(deterministic=True)
    except grpc.RpcError as exc:
        return exc.code(), b""


@pytest.fixture(scope="module")
def counts(world, workers_paused):
    made = {service: RowCounts(service) for service in {m.service for m, _ in CASES}}
    yield made
    for c in made.values():
        c.close()


@pytest.mark.parametrize(("method", "path"), CASES, ids=[f"{m}:{'.'.join(p)}" for m, p in CASES])
def test_a_caller_outside_a_records_visibility_learns_nothing_and_changes_nothing(world, counts, method, path):
    channel = world.channels[method.service]
    seeds = [*world.records, *(f"{r}/team" for r in world.records if r.startswith("opportunities/"))]
    before = counts[method.service]()
    for record in seeds:
        seen, body = _answer(method, channel, _request(method, path, record), world.outsider)
        missing, body_missing = _answer(method, channel, _request(method, path, missing_name(record)),
                                        world.outsider)
        where = f"{method} {'.'.join(path)}={record}"
        if seen == grpc.StatusCode.OK:  # only a list filtered by the record may answer, and as for none
            assert (missing, body) == (grpc.StatusCode.OK, body_missing), f"{where}: an outsider was answered"
        else:
            assert seen in HIDDEN or seen == missing, (
                f"{where}: {seen.name} for another rep's record, {missing.name} for none")
    assert counts[method.service]() == before, f"{method}: an outsider's calls wrote"
