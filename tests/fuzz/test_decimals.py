"""Every decimal string field of every unary RPC (found from the descriptors by the kit's field kinds),
given a value no column holds: never INTERNAL or UNKNOWN, and a refused call writes nothing. The kit
leaves their value to the domains (so a domain reports them with every other bad field); this keeps
every domain honest about it."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor

from shangji_kit import limits
from shangji_kit.testing.requests import RowCounts, unary_methods

DECIMAL_KINDS = {limits.MONEY.name, limits.COST.name, limits.DIFFICULTY.name}
VALUES = ("NaN", "-Infinity", "1e309", "-1e30", "99999999999999999", "1e-400", "0.00001", "12,5")
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS}


def _decimal_paths(descriptor, prefix=(), depth=0):
    for f in descriptor.fields:
        if f.type == FieldDescriptor.TYPE_STRING and not f.is_repeated \
                and limits.kind_of(descriptor, f).name in DECIMAL_KINDS:
            yield (*prefix, f.name)
        elif f.type == FieldDescriptor.TYPE_MESSAGE and depth < 2 and not f.message_type.GetOptions().map_entry \
                and not f.message_type.full_name.startswith("google."):
            yield from _decimal_paths(f.message_type, (*prefix, f.name), depth + 1)


CASES = [(m, p) for m in unary_methods() for p in _decimal_paths(m.descriptor.input_type)]


def _request(method, path, value):
    request = method.request_class()
    target = request
    for part in path[:-1]:
        field = target.DESCRIPTOR.fields_by_name[part]
        target = getattr(target, part).add() if field.is_repeated else getattr(target, part)
    setattr(target, path[-1], value)
    return request


@pytest.fixture(scope="module")
def counts(world, workers_paused):
    made = {service: RowCounts(service) for service in {m.service for m, _ in CASES}}
    yield made
    for c in made.values():
        c.close()


@pytest.mark.parametrize(("method", "path"), CASES, ids=[f"{m}:{'.'.join(p)}" for m, p in CASES])
def test_a_value_no_column_holds_is_never_internal(world, counts, method, path):
    for value in VALUES:
        before = counts[method.service]()
        try:
            method.call(world.channels[method.service], _request(method, path, value), world.admin)
            continue
        except grpc.RpcError as exc:
            assert exc.code() not in NEVER, f"{method} {'.'.join(path)}={value}: {exc.code().name} {exc.details()}"
        assert counts[method.service]() == before, f"{method} {'.'.join(path)}={value} refused but wrote"
