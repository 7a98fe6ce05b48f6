"""OpenTelemetry traces: a span per gRPC call and per event handled, SQL statements as child spans,
the W3C trace context carried in CloudEvents (``traceparent``), trace ids in the JSON logs.

Exported by OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set, with
the standard OTEL_* variables; otherwise no provider is installed and every call here is the
OpenTelemetry API's no-op, so an untraced process pays next to nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from shangji_kit import log

_log = log.get(__name__)
_tracer = trace.get_tracer("shangji")


def exporting() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure(service_name: str, exporter=None) -> bool:
    """Install a tracer provider for this process (``exporter``: tests pass an in-memory one).

    Returns False, installing nothing, when no exporter is given and OTLP is not configured.
    """
    if exporter is None and not exporting():
        return False
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name,
                                                        "service.namespace": "shangji"}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    SQLAlchemyInstrumentor().instrument(tracer_provider=provider)  # every engine created from now on
    logging.getLogger().addFilter(TraceIdsInLogs())
    for handler in logging.getLogger().handlers:
        handler.addFilter(TraceIdsInLogs())
    _log.info("tracing on", extra=log.fields(service_name=service_name))
    return True


class TraceIdsInLogs(logging.Filter):
    """Puts trace_id and span_id beside each JSON log line written inside a span."""

    def filter(self, record: logging.LogRecord) -> bool:
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            extra = dict(getattr(record, "fields", None) or {})
            extra.setdefault("trace_id", format(span.trace_id, "032x"))
            extra.setdefault("span_id", format(span.span_id, "016x"))
            record.fields = extra
        return True


def traceparent() -> str | None:
    """The current span's W3C traceparent, to carry in an event; None outside a span."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None  # tracing off or no span: nothing to carry, and no propagator work per write
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@contextlib.contextmanager
def span(name: str, *, kind: SpanKind, parent: Mapping[str, str] | None = None,
         attributes: Mapping[str, str] | None = None) -> Iterator[trace.Span]:
    """A span continuing the trace in ``parent`` (headers or gRPC metadata holding ``traceparent``)."""
    token = context.attach(propagate.extract(dict(parent or {})))
    try:
        with _tracer.start_as_current_span(name, kind=kind, attributes=dict(attributes or {})) as current:
            yield current
    finally:
        context.detach(token)


def set_error(current: trace.Span, description: str) -> None:
    current.set_status(Status(StatusCode.ERROR, description))
