"""Calling a service in a test: the one way to say a call must be refused."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest


def fails(call: Callable, request) -> grpc.RpcError:
    """``call(request)`` must raise: the gRPC error, for its code and details (``rpc.status.details_of``)."""
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    return exc.value
