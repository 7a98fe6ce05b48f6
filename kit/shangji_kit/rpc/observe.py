"""A second server interceptor, outermost: counts and times every call by method and status code, and
runs it in a server span that continues the caller's trace (``traceparent`` in the metadata).

It sits outside ``FrontInterceptor`` (which maps errors to statuses), so it sees the code the
client gets, including UNAUTHENTICATED and INVALID_ARGUMENT answered before a handler runs.
"""

from __future__ import annotations

import time

import grpc
from opentelemetry.trace import SpanKind

from shangji_kit import metrics, tracing
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
        service = self.service
        metadata = {k: v for k, v in (handler_call_details.invocation_metadata or ()) if isinstance(v, str)}
        rpc_service, _, rpc_method = method.strip("/").partition("/")

        def span():
            return tracing.span(method.strip("/"), kind=SpanKind.SERVER, parent=metadata, attributes={
                "rpc.system": "grpc", "rpc.service": rpc_service, "rpc.method": rpc_method})

        def record(current, context, failed: bool, started: float) -> None:
            code = _code_name(context, failed)
            current.set_attribute("rpc.grpc.status_code", code)
            if code not in ("OK", "NOT_FOUND", "INVALID_ARGUMENT", "ALREADY_EXISTS", "FAILED_PRECONDITION",
                            "PERMISSION_DENIED", "UNAUTHENTICATED", "ABORTED"):
                tracing.set_error(current, code)
            metrics.RPC_REQUESTS.labels(service, method, code).inc()
            metrics.RPC_DURATION.labels(service, method, code).observe(time.perf_counter() - started)

        if _is_export(handler, method):
            inner_stream = handler.unary_stream

            def observed_stream(request, context):
                # Counted and timed when the last chunk is sent (or the stream fails): an export's duration.
                started = time.perf_counter()
                failed = False
                with span() as current:
                    try:
                        yield from inner_stream(request, context)
                    except BaseException:
                        failed = True
                        raise
                    finally:
                        record(current, context, failed, started)

            return grpc.unary_stream_rpc_method_handler(observed_stream,
                                                        request_deserializer=handler.request_deserializer,
                                                        response_serializer=handler.response_serializer)
        inner = handler.unary_unary or handler.stream_unary
        if inner is None:  # a live stream (notify's StreamNotifications): open for hours, not a call to time
            return handler

        def observed(request, context):
            started = time.perf_counter()
            failed = False
            with span() as current:
                try:
                    return inner(request, context)
                except BaseException:
                    failed = True
                    raise
                finally:
                    record(current, context, failed, started)

        make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
        return make(observed, request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer)


def _is_export(handler, method: str) -> bool:
    """A server stream that ends by itself once its file is sent (``Export*``, issue 13)."""
    return handler.unary_stream is not None and method.rpartition("/")[2].startswith("Export")
