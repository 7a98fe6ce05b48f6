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
    "UNIMPLEMENTED": code_pb2.UNIMPLEMENTED,
    "INTERNAL": code_pb2.INTERNAL,
}


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


# gRPC sends the status in headers (16 KiB in all by default; the message percent-encoded, the details
# base64): whatever a domain error quotes, the status stays well inside that.
MESSAGE_CHARS = 300
TEXT_CHARS = 200
DETAILS_BYTES = 6000


def _clip(text: str, limit: int = TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _details(error: DomainError, service: str, violations: list) -> list[any_pb2.Any]:
    metadata = {_clip(k, 64): _clip(v) for k, v in error.metadata.items()}
    details = [_pack(error_details_pb2.ErrorInfo(reason=_clip(error.reason, 64), domain=f"{service}.{DOMAIN}",
                                                 metadata=metadata))]
    if isinstance(error, InvalidArgument):
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=_clip(v.field), description=_clip(v.description))
            for v in violations
        ])))
    if isinstance(error, FailedPrecondition) and error.violations:
        details.append(_pack(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(type=_clip(t, 64), description=_clip(d))
            for t, d in violations
        ])))
    return details


def to_status(error: DomainError, service: str) -> grpc.Status:
    violations = list(getattr(error, "violations", ()))
    details = _details(error, service, violations)
    while violations and sum(d.ByteSize() for d in details) > DETAILS_BYTES:
        violations = violations[: len(violations) * 3 // 4]  # the first ones stay: they are in request order
        details = _details(error, service, violations)
    status = status_pb2.Status(code=_CODES[error.code], message=_clip(error.message, MESSAGE_CHARS),
                               details=details)
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
