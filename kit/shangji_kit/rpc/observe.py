"""A second server interceptor, outermost: counts and times every call by method and status code.

It sits outside ``FrontInterceptor`` (which maps errors to statuses), so it sees the code the
client gets, including UNAUTHENTICATED and INVALID_ARGUMENT answered before a handler runs.
"""

from __future__ import annotations

import time

import grpc

from shangji_kit import metrics
from shangji_kit.rpc.interceptor import PUBLIC_PREFIXES


def _code_name(context: grpc.ServicerContext, failed: bool) -> str:
    code = context.code() if hasattr(context, "code") else None
    if code is None:
        return "UNKNOWN" if failed else "OK"
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


class ObservingInterceptor(grpc.ServerInterceptor):
    def __init__(self, service: str) -> None:
        self.service = service

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        inner = handler.unary_unary or handler.stream_unary
        if inner is None:  # no server-streaming RPCs in the suite
            return handler
        service = self.service

        def observed(request, context):
            started = time.perf_counter()
            failed = False
            try:
                return inner(request, context)
            except BaseException:
                failed = True
                raise
            finally:
                code = _code_name(context, failed)
                metrics.RPC_REQUESTS.labels(service, method, code).inc()
                metrics.RPC_DURATION.labels(service, method, code).observe(time.perf_counter() - started)

        make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
        return make(observed, request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer)
