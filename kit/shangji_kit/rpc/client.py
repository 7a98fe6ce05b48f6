"""Calling a Shangji front: channels, bearer tokens and a deadline on every call."""

from __future__ import annotations

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
