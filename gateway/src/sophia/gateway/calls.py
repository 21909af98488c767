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
from sophia.gateway.results import ok_result
from sophia.gateway.security.guard import Forbidden, Guard
from sophia.gateway.security.principals import Principal
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
        guard: Guard,
        approvals: ApprovalStore | None = None,
        approval_risk: Risk | None = Risk.HIGH,
    ) -> None:
        self.catalog = catalog
        self.metrics = metrics
        self.timeout = timeout
        self.guard = guard
        self.approvals = approvals
        self.approval_risk = approval_risk
        self.usage: Counter[str] = Counter()  # calls per tool since start: the compact tool list's ranking

    def needs_approval(self, route: Route) -> bool:
        if self.approval_risk is None:
            return False
        return route.spec.destructive or RISK_ORDER.index(route.spec.risk) >= RISK_ORDER.index(self.approval_risk)

    async def call(
        self, name: str, arguments: Mapping[str, Any] | None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Return the server's `CallToolResult` as a dict (or a held-for-approval result for a risky
        tool); raise `GatewayError` for anything else, `Forbidden` and `RateLimited` included."""
        route = self.catalog.route(name)
        principal = await self.guard.admit(name, route.spec)
        scoped = self.guard.scoped(principal, route.input_schema, dict(arguments or {}))
        if self.needs_approval(route):
            approval = await self.hold(
                name, scoped, requester=principal.name, reason=f"{name} is {route.spec.risk.value} risk"
            )
            return held_result(approval)
        return await self.forward(route, scoped, timeout, principal)

    async def hold(self, name: str, arguments: dict[str, Any], **details: Any) -> Approval:
        if self.approvals is None:
            raise ApprovalsUnavailable(
                f"{name} needs an approval, but this gateway has no approval store (set SOPHIA_GATEWAY_REDIS_URL)"
            )
        details.setdefault("source", "call")
        approval = await self.approvals.hold(name, arguments, **details)
        await self.guard.record("call", self.guard.principal(), name, arguments, "held", detail=approval.id)
        return approval

    async def run_approved(self, approval_id: str, approver_name: str | None = None) -> Approval:
        """Approve a held call and run exactly it, once; the result is stored on the approval. Only an
        approver may, and (unless the policy says so) not the one who asked."""
        if self.approvals is None:
            raise ApprovalsUnavailable("this gateway has no approval store (set SOPHIA_GATEWAY_REDIS_URL)")
        approver = await self.may_decide(approval_id)
        approval = await self.approvals.decide(approval_id, "approved", _decider(approver, approver_name))
        await self.guard.record("approval", approver, approval.tool, approval.arguments, "approved", detail=approval.id)
        if digest(approval.arguments) != approval.arguments_sha256:
            raise ApprovalConflict(f"approval {approval_id}: the stored arguments do not match their hash; not run")
        try:
            route = self.catalog.route(approval.tool)
            result = await self.forward(route, approval.arguments, None, approver)
            approval = approval.model_copy(
                update={"status": "failed" if result.get("isError") else "executed", "result": result}
            )
        except GatewayError as exc:
            approval = approval.model_copy(update={"status": "failed", "error": str(exc)})
        await self.approvals.save(approval)
        return approval

    async def deny(self, approval_id: str, approver_name: str | None = None) -> Approval:
        if self.approvals is None:
            raise ApprovalsUnavailable("this gateway has no approval store (set SOPHIA_GATEWAY_REDIS_URL)")
        approver = await self.may_decide(approval_id)
        approval = await self.approvals.decide(approval_id, "denied", _decider(approver, approver_name))
        await self.guard.record("approval", approver, approval.tool, approval.arguments, "denied", detail=approval.id)
        return approval

    async def may_decide(self, approval_id: str) -> Principal:
        assert self.approvals is not None
        held = await self.approvals.get(approval_id)
        principal = self.guard.principal()
        if not self.guard.policy.may_approve(principal, held.requester):
            await self.guard.record("approval", principal, held.tool, held.arguments, "forbidden", detail=approval_id)
            raise Forbidden(f"{principal.name} may not decide approval {approval_id}")
        return principal

    async def forward(
        self, route: Route, arguments: Mapping[str, Any] | None, timeout: float | None, principal: Principal
    ) -> dict[str, Any]:
        """Call the server now, no questions asked (the caller has asked them) and write the audit line."""
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
                elapsed = time.perf_counter() - started
                self.metrics.record(name, outcome, elapsed)
                await self.guard.record("call", principal, name, arguments or {}, outcome, elapsed * 1000)


def _decider(principal: Principal, named: str | None) -> str:
    """Who decided: the authenticated principal; with auth off, the name the decider gave."""
    return (named or principal.name) if principal.via == "anonymous" else principal.name


def held_result(approval: Approval) -> dict[str, Any]:
    """What a caller of a held tool gets: not an error, and not the tool's answer."""
    text = (
        f"{approval.tool} was not run: it needs an approver's yes ({approval.reason}). Approval {approval.id} is "
        f"pending until {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(approval.expires_at))}; an approver "
        f"runs it with POST /v1/approvals/{approval.id}/approve."
    )
    return ok_result({"status": "pending_approval", "approval": approval.public()}, text)
