"""The one mapping from domain errors to ``google.rpc.Status`` (ErrorInfo, BadRequest, PreconditionFailure)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from shangji_kit.errors import DomainError, FailedPrecondition, InvalidArgument

DOMAIN = "shangji.io"

_CODES = {
    "INVALID_ARGUMENT": code_pb2.INVALID_ARGUMENT,
    "NOT_FOUND": code_pb2.NOT_FOUND,
    "ALREADY_EXISTS": code_pb2.ALREADY_EXISTS,
    "PERMISSION_DENIED": code_pb2.PERMISSION_DENIED,
    "UNAUTHENTICATED": code_pb2.UNAUTHENTICATED,
    "FAILED_PRECONDITION": code_pb2.FAILED_PRECONDITION,
    "ABORTED": code_pb2.ABORTED,
    "UNAVAILABLE": code_pb2.UNAVAILABLE,
    "INTERNAL": code_pb2.INTERNAL,
}


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status(error: DomainError, service: str) -> grpc.Status:
    details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=f"{service}.{DOMAIN}",
                                                 metadata=error.metadata))]
    if isinstance(error, InvalidArgument):
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ])))
    if isinstance(error, FailedPrecondition) and error.violations:
        details.append(_pack(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(type=t, description=d) for t, d in error.violations
        ])))
    status = status_pb2.Status(code=_CODES[error.code], message=error.message, details=details)
    return rpc_status.to_status(status)


def internal_status(correlation_id: str | None) -> grpc.Status:
    """What a client sees of an unexpected failure: no traceback, a handle to find the log line."""
    info = error_details_pb2.ErrorInfo(reason="INTERNAL", domain=DOMAIN,
                                       metadata={"correlation_id": correlation_id or ""})
    status = status_pb2.Status(code=code_pb2.INTERNAL, message="internal error; quote the correlation id",
                               details=[_pack(info)])
    return rpc_status.to_status(status)


def details_of(error: grpc.RpcError) -> dict:
    """Client side: the rich details of a failed call, for tests and tools."""
    status = rpc_status.from_call(error)
    out: dict = {"reason": None, "fields": [], "preconditions": []}
    if status is None:
        return out
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            out["reason"] = info.reason
            out["metadata"] = dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            out["fields"] = [v.field for v in br.field_violations]
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            pf = error_details_pb2.PreconditionFailure()
            detail.Unpack(pf)
            out["preconditions"] = [(v.type, v.description) for v in pf.violations]
    return out
