"""Calls the services' gRPC fronts on behalf of a console user, JSON in and JSON out.

The caller's own ``Authorization`` header travels with every call, so what the console shows and
changes is exactly what the APIs allow that user; this process holds no credentials of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import grpc
from google.protobuf import json_format, message_factory

from shangji_kit import settings
from shangji_kit.rpc.client import DEFAULT_DEADLINE_SECONDS
from shangji_kit.rpc.status import details_of
from web.adapters.console_rpcs import CONSOLE_APIS


@dataclass
class RpcFailure(Exception):
    """A call the service refused (or could not be made): its gRPC code and rich details."""

    code: str
    message: str
    reason: str | None = None
    fields: list[str] = field(default_factory=list)
    preconditions: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"code": self.code, "message": self.message, "reason": self.reason, "fields": self.fields,
                "preconditions": [{"type": t, "description": d} for t, d in self.preconditions]}


class ServiceGateway:
    """One channel per service, opened on first use and shared by every request."""

    def __init__(self, targets: Mapping[str, str] | None = None,
                 deadline: float = DEFAULT_DEADLINE_SECONDS) -> None:
        self._targets = dict(targets or {})
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()
        self._deadline = deadline

    def _channel(self, service: str) -> grpc.Channel:
        with self._lock:  # requests arrive on many threads; one channel per service
            if service not in self._channels:
                self._channels[service] = grpc.insecure_channel(self._targets.get(service)
                                                                or settings.grpc_target(service))
            return self._channels[service]

    def call(self, api: str, method: str, body: Mapping, authorization: str | None) -> dict:
        """``api.method`` (a key of ``CONSOLE_APIS`` and one of its methods) with ``body`` as the request."""
        allowed = CONSOLE_APIS.get(api)
        if allowed is None or method not in allowed.methods:
            raise RpcFailure("NOT_FOUND", f"the console does not call {api}.{method}", reason="UNKNOWN_RPC")
        try:
            descriptor = allowed.method(method)
        except ModuleNotFoundError as exc:
            raise RpcFailure("UNIMPLEMENTED", f"{allowed.full_name} is not in this build",
                             reason="API_NOT_AVAILABLE") from exc
        request_class = message_factory.GetMessageClass(descriptor.input_type)
        response_class = message_factory.GetMessageClass(descriptor.output_type)
        try:
            request = json_format.ParseDict(dict(body), request_class())
        except json_format.ParseError as exc:
            raise RpcFailure("INVALID_ARGUMENT", f"request body: {exc}", reason="MALFORMED_BODY") from exc
        metadata = [("authorization", authorization)] if authorization else []
        rpc = self._channel(allowed.service).unary_unary(
            f"/{allowed.full_name}/{method}", request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString)
        try:
            response = rpc(request, timeout=self._deadline, metadata=metadata)
        except grpc.RpcError as exc:
            details = details_of(exc)
            raise RpcFailure(exc.code().name, exc.details() or exc.code().name, reason=details["reason"],
                             fields=details["fields"], preconditions=details["preconditions"]) from exc
        return json_format.MessageToDict(response, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True)

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()
