"""OpenTelemetry setup and W3C trace-context propagation for HTTP requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, DEFAULT_ON
from starlette.types import ASGIApp, Receive, Scope, Send

Exporter = Literal["none", "otlp", "console"]


def configure_tracing(service: str, exporter: Exporter) -> None:
    """Install a tracer provider for this process unless one is already installed (tests do that).

    With no exporter, spans are not recorded (recording one costs ~60 µs on the gateway's hot path)
    but still get trace ids, which logs carry and onward requests propagate, so one call's log lines
    join up across processes.
    """
    keep_extract_total()
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    resource = Resource.create({"service.name": f"sophia-{service}"})
    provider = TracerProvider(resource=resource, sampler=ALWAYS_OFF if exporter == "none" else DEFAULT_ON)
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)


class _TotalExtract(TextMapPropagator):
    """The configured propagators, except that `extract` always returns a Context.

    `OTEL_PROPAGATORS=none` (a standard setting) installs an empty composite whose `extract` returns the
    context it was given: None when none was. Whoever then attaches it (FastAPI's telemetry does, on every
    request) makes the current context None, and the next span start fails. An empty Context is what
    "no propagator found anything" means.
    """

    def __init__(self, inner: TextMapPropagator) -> None:
        self.inner = inner

    def extract(
        self, carrier: CarrierT, context: Context | None = None, getter: Getter[CarrierT] = default_getter
    ) -> Context:
        extracted = self.inner.extract(carrier, context=context, getter=getter)
        return extracted if extracted is not None else Context()

    def inject(
        self, carrier: CarrierT, context: Context | None = None, setter: Setter[CarrierT] = default_setter
    ) -> None:
        self.inner.inject(carrier, context=context, setter=setter)

    @property
    def fields(self) -> set[str]:
        return self.inner.fields


def keep_extract_total() -> None:
    """Wrap the process's propagators (once) so extracting never yields None; see `_TotalExtract`."""
    current = propagate.get_global_textmap()
    if not isinstance(current, _TotalExtract):
        propagate.set_global_textmap(_TotalExtract(current))


def context_from_headers(headers: Mapping[str, str]) -> Context:
    """The trace context the caller sent (``traceparent``/``tracestate``), or an empty one."""
    return propagate.extract(headers)


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """Add the current trace context to outgoing headers and return them."""
    propagate.inject(headers)
    return headers


class TraceContextMiddleware:
    """Make the caller's trace context current for the whole request, so tool spans join it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _TRACE_HEADERS}
        if not headers:
            await self.app(scope, receive, send)
            return
        from opentelemetry import context as otel_context

        token = otel_context.attach(context_from_headers(headers))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)


_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})
