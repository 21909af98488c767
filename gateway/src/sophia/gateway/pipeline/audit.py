"""Stage 10, audit: one line per attempt that reached a server (who, what, outcome, how long, trace id;
arguments redacted), plus the call's metrics and span."""

from __future__ import annotations

import time

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from sophia.gateway.errors import GatewayError, UpstreamError
from sophia.gateway.metrics import GatewayMetrics
from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage
from sophia.gateway.security.guard import Guard

tracer = trace.get_tracer("sophia.gateway")


class AuditStage(Stage):
    def __init__(self, guard: Guard, metrics: GatewayMetrics) -> None:
        self.guard = guard
        self.metrics = metrics

    async def handle(self, call: Call, next: Next) -> Outcome:
        assert call.route is not None and call.principal is not None
        started = time.perf_counter()
        outcome_name = "ok"
        with tracer.start_as_current_span(
            f"tools/call {call.name}",
            kind=SpanKind.CLIENT,
            attributes={"mcp.tool": call.name, "sophia.service": call.route.service, "sophia.source": call.source},
        ) as span:
            try:
                outcome = await next(call)
                if outcome.result.get("isError"):
                    outcome_name = "tool_error"
                return outcome
            except UpstreamError as exc:
                outcome_name = type(exc).__name__
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                raise
            except GatewayError:
                outcome_name = "rejected"
                raise
            except BaseException:
                outcome_name = "cancelled"
                raise
            finally:
                elapsed = time.perf_counter() - started
                self.metrics.record(call.name, outcome_name, elapsed)
                detail = f"approval {call.approval.id}" if call.approval is not None else call.source
                await self.guard.record(
                    "call", call.principal, call.name, call.arguments, outcome_name, elapsed * 1000, detail=detail
                )
