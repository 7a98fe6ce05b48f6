"""Domain errors: what went wrong, in words a client can act on.

Services raise these from any layer; the gRPC front maps them once (``shangji_kit.grpc.status``)
to ``google.rpc.Status`` with ``ErrorInfo`` and ``BadRequest``. Nothing here imports grpc.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    """Base of every error a client may see. ``reason`` is UPPER_SNAKE and stable."""

    code = "INTERNAL"
    default_reason = "INTERNAL"

    def __init__(self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = dict(metadata or {})


class InvalidArgument(DomainError):
    code = "INVALID_ARGUMENT"
    default_reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation] | FieldViolation, *, reason: str | None = None) -> None:
        if isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = list(violations)
        text = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(f"invalid argument: {text}", reason=reason,
                         metadata={"fields": ",".join(v.field for v in self.violations)})

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        return cls([FieldViolation(field, description)])


class NotFound(DomainError):
    code = "NOT_FOUND"
    default_reason = "NOT_FOUND"

    def __init__(self, resource: str, *, reason: str | None = None) -> None:
        super().__init__(f"{resource} not found", reason=reason, metadata={"resource": resource})


class AlreadyExists(DomainError):
    code = "ALREADY_EXISTS"
    default_reason = "ALREADY_EXISTS"


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"
    default_reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    default_reason = "UNAUTHENTICATED"


class FailedPrecondition(DomainError):
    """A gate not met. ``violations`` lists every unmet condition, not just the first."""

    code = "FAILED_PRECONDITION"
    default_reason = "FAILED_PRECONDITION"

    def __init__(self, message: str, *, violations: list[tuple[str, str]] | None = None,
                 reason: str | None = None, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.violations = list(violations or [])


class Aborted(DomainError):
    """A stale etag or a lost race: the client should re-read and retry."""

    code = "ABORTED"
    default_reason = "ETAG_MISMATCH"


class Unavailable(DomainError):
    code = "UNAVAILABLE"
    default_reason = "UNAVAILABLE"


class Unimplemented(DomainError):
    """A method of the contract that this build of the service does not serve (yet)."""

    code = "UNIMPLEMENTED"
    default_reason = "UNIMPLEMENTED"
