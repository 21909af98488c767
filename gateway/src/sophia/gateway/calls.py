"""Forward one tool call to the server that owns it; every path (MCP, REST, `ask`) goes through here.

A call to a risky tool (destructive, or at or above the configured risk) is not forwarded: it is held
in the approval queue and the caller gets a result that says so. It runs later, exactly as held,
when an approver approves it (`run_approved`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from sophia.gateway.approvals import Approval, ApprovalConflict, ApprovalStore, ApprovalsUnavailable, digest
from sophia.gateway.catalog import Catalog, Route
from sophia.gateway.errors import GatewayError, UpstreamError
from sophia.gateway.metrics import GatewayMetrics
from sophia.kit import Risk

logger = logging.getLogger("sophia.gateway.calls")
tracer = trace.get_tracer("sophia.gateway")


RISK_ORDER = (Risk.LOW, Risk.MEDIUM, Risk.HIGH, Risk.CRITICAL)


class ToolCaller:
    def __init__(
        self,
        catalog: Catalog,
        metrics: GatewayMetrics,
        timeout: float,
        approvals: ApprovalStore | None = None,
        approval_risk: Risk | None = Risk.HIGH,
    ) -> None:
        self.catalog = catalog
        self.metrics = metrics
        self.timeout = timeout
        self.approvals = approvals
        self.approval_risk = approval_risk
        self.usage: Counter[str] = Counter()  # calls per tool since start: the compact tool list's ranking

    def needs_approval(self, route: Route) -> bool:
        if self.approval_risk is None:
            return False
        return route.spec.destructive or RISK_ORDER.index(route.spec.risk) >= RISK_ORDER.index(self.approval_risk)

    async def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        timeout: float | None = None,
        *,
        requester: str = "anonymous",
    ) -> dict[str, Any]:
        """Return the server's `CallToolResult` as a dict (or a held-for-approval result for a risky
        tool); raise `GatewayError` for anything else."""
        route = self.catalog.route(name)
        if self.needs_approval(route):
            approval = await self.hold(
                name, dict(arguments or {}), requester=requester, reason=f"{name} is {route.spec.risk.value} risk"
            )
            return held_result(approval)
        return await self.forward(route, arguments, timeout)

    async def hold(self, name: str, arguments: dict[str, Any], **details: Any) -> Approval:
        if self.approvals is None:
            raise ApprovalsUnavailable(
                f"{name} needs an approval, but this gateway has no approval store (set SOPHIA_GATEWAY_REDIS_URL)"
            )
        details.setdefault("source", "call")
        return await self.approvals.hold(name, arguments, **details)

    async def run_approved(self, approval_id: str, approver: str) -> Approval:
        """Approve a held call and run exactly it, once; the result is stored on the approval."""
        if self.approvals is None:
            raise ApprovalsUnavailable("this gateway has no approval store (set SOPHIA_GATEWAY_REDIS_URL)")
        approval = await self.approvals.decide(approval_id, "approved", approver)
        if digest(approval.arguments) != approval.arguments_sha256:
            raise ApprovalConflict(f"approval {approval_id}: the stored arguments do not match their hash; not run")
        try:
            result = await self.forward(self.catalog.route(approval.tool), approval.arguments, None)
            approval = approval.model_copy(
                update={"status": "failed" if result.get("isError") else "executed", "result": result}
            )
        except GatewayError as exc:
            approval = approval.model_copy(update={"status": "failed", "error": str(exc)})
        await self.approvals.save(approval)
        return approval

    async def forward(self, route: Route, arguments: Mapping[str, Any] | None, timeout: float | None) -> dict[str, Any]:
        name = route.name
        self.usage[name] += 1
        started = time.perf_counter()
        outcome = "ok"
        with tracer.start_as_current_span(
            f"tools/call {name}", kind=SpanKind.CLIENT, attributes={"mcp.tool": name, "sophia.service": route.service}
        ) as span:
            try:
                result = await route.upstream.call_tool(route.spec.name, arguments, timeout or self.timeout)
                if result.get("isError"):
                    outcome = "tool_error"
                return result
            except UpstreamError as exc:
                outcome = type(exc).__name__
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                raise
            except GatewayError:
                outcome = "rejected"
                raise
            finally:
                self.metrics.record(name, outcome, time.perf_counter() - started)


def held_result(approval: Approval) -> dict[str, Any]:
    """What a caller of a held tool gets: not an error, and not the tool's answer."""
    text = (
        f"{approval.tool} was not run: it needs an approver's yes ({approval.reason}). Approval {approval.id} is "
        f"pending until {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(approval.expires_at))}; an approver "
        f"runs it with POST /v1/approvals/{approval.id}/approve."
    )
    return {
        "content": [{"type": "text", "text": text}],
        "structuredContent": {"status": "pending_approval", "approval": approval.public()},
        "isError": False,
    }


def error_result(message: str) -> dict[str, Any]:
    """A `CallToolResult` that reports a failure to the model instead of failing the request."""
    return {"content": [{"type": "text", "text": message}], "isError": True}
