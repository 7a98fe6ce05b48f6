"""Calling a Shangji front: channels, bearer tokens and a deadline on every call."""

from __future__ import annotations

import threading

import grpc

from shangji_kit import settings
from shangji_kit.rpc import tls

DEFAULT_DEADLINE_SECONDS = 5.0
# With a target that resolves to several addresses (dns:///<app>-headless:<port> on Kubernetes),
# spread calls over all of them; one HTTP/2 connection to one pod would take every call otherwise.
CHANNEL_OPTIONS = [("grpc.lb_policy_name", "round_robin")]


def channel(service: str, target: str | None = None) -> grpc.Channel:
    """A channel to a service's front: TLS when SHANGJI_TLS_CA_FILE is set (``rpc/tls.py``)."""
    address = target or settings.grpc_target(service)
    credentials = tls.channel_credentials()
    if credentials is None:
        return grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
    return grpc.secure_channel(address, credentials, options=CHANNEL_OPTIONS + tls.channel_options())


_shared: dict[tuple[str, str], grpc.Channel] = {}
_shared_lock = threading.Lock()


def shared_channel(service: str, target: str | None = None) -> grpc.Channel:
    """One channel per service and target for the whole process: channels are thread-safe and multiplex calls,
    so a front calling another service on every request must not dial anew each time."""
    address = target or settings.grpc_target(service)
    with _shared_lock:
        if (service, address) not in _shared:
            _shared[(service, address)] = channel(service, address)
        return _shared[(service, address)]


def bearer_token(context: grpc.ServicerContext) -> str | None:
    """The token the caller sent a front, to call another service as the caller (its visibility rules then apply
    to the caller, not to a service account)."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and value.lower().startswith("bearer "):
            return value[7:].strip()
    return None


def metadata(token: str | None, correlation_id: str | None = None) -> list[tuple[str, str]]:
    md = []
    if token:
        md.append(("authorization", f"Bearer {token}"))
    if correlation_id:
        md.append(("x-correlation-id", correlation_id))
    return md


class Caller:
    """Wraps a stub so every call carries the token and a deadline: ``Caller(stub, token).GetLead(req)``."""

    def __init__(self, stub, token: str | None, *, deadline: float = DEFAULT_DEADLINE_SECONDS) -> None:
        self._stub = stub
        self._token = token
        self._deadline = deadline

    def __getattr__(self, name: str):
        method = getattr(self._stub, name)

        def call(request, *, timeout: float | None = None, correlation_id: str | None = None):
            return method(request, timeout=timeout or self._deadline, metadata=metadata(self._token, correlation_id))

        return call
